// The deployment journal: one versioned JSON record, written atomically before a state acts.
// A record that does not validate is set aside (never trusted) and reported as corrupt.
import { join } from 'node:path';
import { readJson, readJsonOrSetAside, writeFileAtomic, writeJsonAtomic, type JsonPeek, type JsonRead } from '../lib/atomic-file.ts';
import { isState, STATES, type Outcome, type State } from './machine.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

export interface PayloadInfo {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly blockSize: number;
  readonly blocks: number;
}

export interface BundleInfo {
  readonly version: string;
  readonly release: number;
  readonly payload: PayloadInfo;
}

export interface Progress {
  /** First block not yet durably in the slot. */
  readonly nextBlock: number;
  readonly validator: string | null;
}

/** How the bundle's bytes arrived (all attempts of this deployment): shown by status and in reports. */
export interface TransferRecord {
  readonly mode: 'full' | 'delta';
  readonly fullBytes: number;
  readonly plannedBytes: number;
  readonly fetchedBytes: number;
  readonly localBytes: number;
  readonly requests: number;
}

export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface Journal {
  readonly v: 1;
  readonly id: string;
  readonly state: State;
  /** Save counter: entries per state over the whole deployment. */
  readonly visits: Readonly<Partial<Record<State, number>>>;
  readonly origin: string;
  readonly target: string;
  /** Slot running when the deployment started: the fallback. */
  readonly previous: string;
  readonly bundle: BundleInfo | null;
  readonly progress: Progress | null;
  readonly transfer?: TransferRecord | null;
  readonly error: ErrorInfo | null;
  /** Boot id (kernel boot_id) of the boot whose health checks passed; committing needs this boot's. */
  readonly healthyBoot?: string | null;
  /** The bundle this deployment must install (an offer's manifestSha256 etc.); null/absent: any verified bundle. */
  readonly pin?: { readonly manifestSha256: string; readonly version?: string; readonly release?: string } | null;
  /** Kernel boot_id of the last start that gave a pending revert a fresh save-counter allowance. */
  readonly revertRetryBoot?: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
}

export const JOURNAL_FILE = 'journal.json';
export const HEAD_FILE = 'head.bin';

export class JournalStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  get path(): string {
    return join(this.dir, JOURNAL_FILE);
  }

  read(now?: () => number): Promise<JsonRead<Journal>> {
    return readJsonOrSetAside(this.path, validateJournal, now);
  }

  /** Read-only look (status): a corrupt journal is reported but left for the next resume to set aside. */
  peek(): Promise<JsonPeek<Journal>> {
    return readJson(this.path, validateJournal);
  }

  write(j: Journal): Promise<void> {
    return writeJsonAtomic(this.path, j);
  }

  /** Where the bundle's head bytes (signed manifest + block index) are kept, re-verified on resume. */
  get headPath(): string {
    return join(this.dir, HEAD_FILE);
  }

  writeHead(bytes: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    return writeFileAtomic(this.headPath, bytes);
  }
}

export function outcomeOf(j: Journal): Outcome | null {
  return j.state === 'committed' || j.state === 'rolled_back' || j.state === 'failed' ? j.state : null;
}

// Strict: anything off means the file is not what we wrote, so it must not steer a reboot.
export function validateJournal(raw: unknown): Journal {
  const o = rec(raw, 'journal');
  if (o.v !== 1) throw new Error(`unsupported journal version ${JSON.stringify(o.v)}`);
  if (!isState(o.state)) throw new Error(`unknown state ${JSON.stringify(o.state)}`);
  const visits = rec(o.visits, 'visits');
  for (const [k, n] of Object.entries(visits)) {
    if (!(STATES as readonly string[]).includes(k) || !isCount(n)) throw new Error(`bad visits entry ${k}`);
  }
  for (const k of ['id', 'origin', 'target', 'previous', 'startedAt', 'updatedAt'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new Error(`${k}: expected a string`);
  }
  if (o.bundle !== null) {
    const b = rec(o.bundle, 'bundle');
    const p = rec(b.payload, 'bundle.payload');
    if (typeof b.version !== 'string' || !isCount(b.release)) throw new Error('bundle: bad version/release');
    if (typeof p.name !== 'string' || !/^[0-9a-f]{64}$/.test(String(p.sha256))) throw new Error('bundle.payload: bad name/sha256');
    if (!isCount(p.size) || !isCount(p.blockSize) || p.blockSize === 0 || !isCount(p.blocks)) throw new Error('bundle.payload: bad sizes');
  }
  if (o.progress !== null) {
    const p = rec(o.progress, 'progress');
    if (!isCount(p.nextBlock) || (p.validator !== null && typeof p.validator !== 'string')) throw new Error('progress: bad');
  }
  if (o.transfer !== undefined && o.transfer !== null) {
    const t = rec(o.transfer, 'transfer');
    if ((t.mode !== 'full' && t.mode !== 'delta') || !['fullBytes', 'plannedBytes', 'fetchedBytes', 'localBytes', 'requests'].every((k) => isCount(t[k]))) {
      throw new Error('transfer: bad');
    }
  }
  if (o.healthyBoot !== undefined && o.healthyBoot !== null && typeof o.healthyBoot !== 'string') throw new Error('healthyBoot: bad');
  if (o.revertRetryBoot !== undefined && o.revertRetryBoot !== null && typeof o.revertRetryBoot !== 'string') throw new Error('revertRetryBoot: bad');
  if (o.pin !== undefined && o.pin !== null && !/^[0-9a-f]{64}$/.test(String(rec(o.pin, 'pin').manifestSha256))) throw new Error('pin: bad manifestSha256');
  if (o.error !== null) {
    const e = rec(o.error, 'error');
    if (typeof e.code !== 'string' || typeof e.message !== 'string') throw new Error('error: bad');
  }
  return o as unknown as Journal;
}

function rec(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
