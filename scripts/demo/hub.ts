// The hub of the demo: `outpost-hub serve` as a child process (SQLite store in one file, its JSON
// log in hub.log), operated the way an operator does: `outpost-hub ctl …` with the token the hub
// printed at its first start, and the operator API for what a dashboard would poll.
import { execFile } from 'node:child_process';
import { HubProcess } from '../fleet-sim/hub-process.ts';
import { REPO } from './run-cli.ts';
import { DemoFailure, abortReason } from './wait.ts';
import { resolve } from 'node:path';

const OUTPOST_HUB = resolve(REPO, 'bin/outpost-hub.js');

export interface HubNode {
  fingerprint: string;
  deviceId: string;
  status: 'pending' | 'accepted' | 'rejected';
  online: boolean;
  running: { version: string; release: number; slot: string } | null;
  site: { id?: string; name?: string } | null;
  inventory: Record<string, string | number | boolean | null> | null;
  location: { lat: number; lon: number; source: string; accuracyM?: number } | null;
  deployments: Array<{ id: string; rolloutId: string | null; state: string; outcome: { result: string; code?: string } | null }>;
}

export interface RolloutView {
  id: string;
  status: string;
  reason: string | null;
  wave: number;
  waves: number;
  progress: Array<{ wave: number; size: number; opened: boolean; counts: Record<string, number> }>;
}

export class DemoHub {
  readonly #hub: HubProcess;
  readonly #token: string;
  readonly #signal: AbortSignal;

  private constructor(hub: HubProcess, token: string, signal: AbortSignal) {
    this.#hub = hub;
    this.#token = token;
    this.#signal = signal;
  }

  static async start(o: { store: string; bundles: string; log: string; signal: AbortSignal }): Promise<DemoHub> {
    // A pending node asks again after 1 s, so the operator's accept shows up quickly.
    const hub = await HubProcess.start({ store: `sqlite:${o.store}`, bundles: o.bundles, log: o.log, args: ['--pending-retry', '1'], signal: o.signal }).catch((err: Error) => {
      throw new DemoFailure(err.message);
    });
    if (!hub.token) throw new DemoFailure('the hub printed no operator token');
    return new DemoHub(hub, hub.token, o.signal);
  }

  get url(): string {
    return this.#hub.url;
  }
  get agentUrl(): string {
    return this.#hub.agentUrl;
  }
  get apiUrl(): string {
    return this.#hub.apiUrl;
  }
  get token(): string {
    return this.#token;
  }

  /** `outpost-hub ctl ARGS…` (API URL and token from the environment, as an operator's shell has them); its stdout. */
  ctl(args: readonly string[]): Promise<string> {
    return new Promise((done, fail) => {
      execFile(process.execPath, [OUTPOST_HUB, 'ctl', ...args], {
        cwd: REPO, signal: this.#signal, maxBuffer: 4 << 20,
        env: { ...process.env, OUTPOST_HUB_URL: this.apiUrl, OUTPOST_HUB_TOKEN: this.#token },
      }, (err, stdout, stderr) => {
        if (err && this.#signal.aborted) fail(new DemoFailure(`${abortReason(this.#signal)} while running outpost-hub ctl ${args.join(' ')}`));
        else if (err) fail(new DemoFailure(`outpost-hub ctl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else done(stdout);
      });
    });
  }

  /** The hub's record of one node (by device id), or null while it has never connected. */
  async node(deviceId: string): Promise<HubNode | null> {
    try {
      const [n] = await this.#hub.api<HubNode[]>(this.#token, 'GET', `/admin/nodes/${encodeURIComponent(deviceId)}`);
      return n ?? null;
    } catch (err) {
      if (/ 404 /.test((err as Error).message)) return null;
      throw err;
    }
  }

  rollout(id: string): Promise<RolloutView> {
    return this.#hub.api<RolloutView>(this.#token, 'GET', `/admin/rollouts/${encodeURIComponent(id)}`);
  }

  stop(): Promise<void> {
    return this.#hub.stop('SIGTERM');
  }
}
