// The reference hub's whole state in ONE JSON file, rewritten atomically. Writes are grouped:
// callers that arrive while a write runs share the next one, and nothing is acknowledged to an
// agent before the write that contains it has completed.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../agent/lib/atomic-file.ts';
import type { Command, Inventory, OutcomeResult } from '../shared/protocol/index.ts';

export interface NodeRecord {
  fingerprint: string;
  deviceId: string;
  publicKey: string;
  status: 'pending' | 'accepted';
  groups: string[];
  agentVersion: string;
  firstSeen: number;
  lastSeen: number;
  /** Every report with seq <= ackedSeq is stored here and was acknowledged. */
  ackedSeq: number;
  reports: number;
  inventory: Inventory | null;
  /** Hash of `inventory` as the agent computed it (checked on every diff); null: none or unknown. */
  inventoryHash?: string | null;
  location: { lat: number; lon: number; source: string; fixAt: number; moved?: boolean; accuracyM?: number } | null;
  deployment: {
    id: string;
    state: string | null;
    progress: { phase: string; done: number; total: number } | null;
    /** `version`: the bundle version the node reported with its outcome (what it now runs on success). */
    outcome: { result: OutcomeResult; version?: string; code?: string; message?: string; log: string } | null;
  } | null;
  /** seq and type of the last reports, oldest first (capped): lets an operator audit order. */
  /** `mode`: for inventory, how it was applied (full, diff, duplicate, wrong-base). */
  history: Array<{ seq: number; type: string; at: number; mode?: string }>;
  /** Commands issued and not yet acknowledged; re-sent on every reconnect. */
  outstanding: Command[];
  /** Acknowledgements received, newest last (capped). */
  acks: Array<{ ref: string; type: string; result: string; code?: string; at: number }>;
}

export interface HubState {
  version: 1;
  /** Fingerprints accepted without an operator step. */
  preauthorized: string[];
  nodes: Record<string, NodeRecord>;
}

export const HISTORY_CAP = 5000;

export class HubStore {
  readonly file: string;
  state: HubState;
  #writing = false;
  #waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];

  private constructor(file: string, state: HubState) {
    this.file = file;
    this.state = state;
  }

  static async open(file: string, preauthorized: readonly string[] = []): Promise<HubStore> {
    let state: HubState = { version: 1, preauthorized: [], nodes: {} };
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as HubState;
      if (parsed.version !== 1 || typeof parsed.nodes !== 'object') throw new Error(`${file}: not a hub state file`);
      state = parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    state.preauthorized = [...new Set([...state.preauthorized, ...preauthorized.map((f) => f.toLowerCase())])];
    const store = new HubStore(file, state);
    await store.persist();
    return store;
  }

  /** Resolves once a write that started after this call has reached the disk. */
  persist(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    while (this.#waiters.length) {
      const batch = this.#waiters.splice(0);
      try {
        // Serialised now, so it holds every change made before these callers asked.
        await writeFileAtomic(this.file, JSON.stringify(this.state));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#writing = false;
  }

  /** By full fingerprint, a fingerprint prefix (>= 8 hex digits) or a device id. */
  find(ref: string): NodeRecord[] {
    const r = ref.toLowerCase();
    const nodes = Object.values(this.state.nodes);
    const exact = nodes.filter((n) => n.fingerprint === r || n.deviceId === ref);
    if (exact.length) return exact;
    return r.length >= 8 ? nodes.filter((n) => n.fingerprint.startsWith(r)) : [];
  }
}
