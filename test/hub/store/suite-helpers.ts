// Shared by the store suite's parts: a fresh database per test, node and report builders, and a
// condition poller (no fixed sleeps: the machine is busy).
import { createHash, randomBytes } from 'node:crypto';
import type { HubStore, StoreLimits } from '../../../hub/store/types.ts';
import type { Report, ReportBody } from '../../../shared/protocol/index.ts';

export type Row = Record<string, unknown>;

/** One empty database; open() several times = several hub processes on it. */
export interface TestDb {
  open(limits?: Partial<StoreLimits>): Promise<HubStore>;
  /** Raw SQL with `?` placeholders, to look at what is stored. */
  query(sql: string, params?: Array<string | number | null>): Promise<Row[]>;
  drop(): Promise<void>;
}

export interface StoreHarness {
  name: string;
  fresh(): Promise<TestDb>;
}

/** Runs fn with a fresh database; closes every store it opened and drops the database. */
export async function withDb(h: StoreHarness, fn: (db: TestDb & { stores: HubStore[] }) => Promise<void>): Promise<void> {
  const raw = await h.fresh();
  const stores: HubStore[] = [];
  const db = { ...raw, stores, open: async (l?: Partial<StoreLimits>) => {
    const s = await raw.open(l);
    stores.push(s);
    return s;
  } };
  try {
    await fn(db);
  } finally {
    for (const s of stores) await s.close().catch(() => {});
    await raw.drop();
  }
}

export function newId(): string {
  return createHash('sha256').update(randomBytes(32)).digest('hex');
}

export async function addNode(s: HubStore, o: Partial<Parameters<HubStore['admitNode']>[0]> = {}): Promise<string> {
  const id = o.id ?? newId();
  const r = await s.admitNode({
    id, publicKey: randomBytes(32).toString('base64'), deviceId: `dev-${id.slice(0, 6)}`, agentVersion: '1.0.0',
    compatible: ['board-a'], autoAccept: true, now: 1_000, ...o,
  });
  if (!('node' in r)) throw new Error('admission refused');
  return id;
}

let rid = 0;
export function rep(seq: number, body: ReportBody): Report {
  return { v: 1, id: `r-${++rid}`, seq, ...body } as Report;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
