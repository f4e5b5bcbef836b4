// Remembers recently handled hub commands (and offered deployment ids) on disk, so a command
// replayed after a reconnect or an agent restart is answered "duplicate" and never run twice.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import type { AckResult } from '../../shared/protocol/messages.ts';
import type { Logger } from '../log/logger.ts';

export interface LedgerEntry {
  id: string;
  type: string;
  result: AckResult;
  code?: string;
  deploymentId?: string;
}

const KEEP = 256;

export class CommandLedger {
  #file: string;
  #entries: LedgerEntry[];

  private constructor(file: string, entries: LedgerEntry[]) {
    this.#file = file;
    this.#entries = entries;
  }

  static async open(dir: string, log: Logger): Promise<CommandLedger> {
    const file = join(dir, 'commands.json');
    const read = await readJsonOrSetAside(file, (v) => {
      if (!Array.isArray(v) || v.some((e) => typeof e?.id !== 'string' || typeof e?.result !== 'string')) throw new Error('bad ledger');
      return v as LedgerEntry[];
    });
    if (read.kind === 'corrupt') log.error('command ledger corrupt, set aside', { file: read.setAsideTo });
    return new CommandLedger(file, read.kind === 'ok' ? read.value : []);
  }

  byId(id: string): LedgerEntry | undefined {
    return this.#entries.find((e) => e.id === id);
  }

  /** An accepted offer for this deployment, if one was seen. */
  byDeployment(deploymentId: string): LedgerEntry | undefined {
    return this.#entries.find((e) => e.deploymentId === deploymentId && e.result !== 'rejected');
  }

  /** Persists before the caller acknowledges, so an ack always reflects what is on disk. */
  async record(entry: LedgerEntry): Promise<void> {
    this.#entries = [...this.#entries.filter((e) => e.id !== entry.id), entry].slice(-KEEP);
    await writeJsonAtomic(this.#file, this.#entries, 0o600);
  }
}
