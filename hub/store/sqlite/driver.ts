// node:sqlite (DatabaseSync) behind the async Db interface. Calls are synchronous, so jobs
// (transactions) run one after another from a queue: an await inside one must never let another
// interleave on the connection. Write jobs that are waiting together run as ONE SQLite
// transaction, one SAVEPOINT each (group commit): a failing job rolls back only its savepoint,
// and every job of the group resolves after the single COMMIT — so with synchronous=FULL one
// fsync covers all reports that arrived meanwhile, and an ack still follows a durable commit.
// WAL lets readers in other processes go on while we write; the busy timeout makes another
// process wait for the write lock instead of failing.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { sqliteDialect } from '../sql/dialect.ts';
import type { Db, Param, Row, Tx } from '../sql/db.ts';

export interface SqliteOptions {
  /** `full` (default): a commit is on disk before an ack; `normal`: WAL may lose the last commits on power loss. */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  /** Write transactions committed together at most (default 32; 1: each commits alone). */
  group?: number;
}

const MAX_CACHED_STATEMENTS = 500;
export const DEFAULT_GROUP = 32;

interface Conn {
  db: DatabaseSync;
  tx: Tx;
  maxGroup: number;
}

interface Job {
  conn: Conn;
  write: boolean;
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

// One lane per file in this process: a second connection's BEGIN IMMEDIATE would otherwise block
// the thread in SQLite's busy handler while the first transaction waits for that same thread.
interface Lane {
  jobs: Job[];
  scheduled: boolean;
  users: number;
}
const lanes = new Map<string, Lane>();

function schedule(lane: Lane): void {
  if (lane.scheduled) return;
  lane.scheduled = true;
  // setImmediate: after this turn's I/O callbacks, so the reports that arrived together queue up
  // and share one commit.
  setImmediate(() => void drain(lane));
}

async function runGroup(group: Job[], lane: Lane): Promise<void> {
  const { db, tx } = group[0]!.conn;
  try {
    db.exec(group[0]!.write ? 'BEGIN IMMEDIATE' : 'BEGIN');
  } catch (err) {
    for (const j of group) j.reject(err);
    return;
  }
  const done: Array<{ job: Job; ok: boolean; v: unknown }> = [];
  for (let i = 0; i < group.length; i++) {
    const job = group[i]!;
    db.exec('SAVEPOINT job');
    try {
      const v = await job.fn(tx);
      db.exec('RELEASE job');
      done.push({ job, ok: true, v });
    } catch (err) {
      if (!db.isTransaction) {
        // SQLite rolled the whole transaction back (I/O error, disk full): the jobs before this one
        // are lost too; the ones after it go back to the queue.
        for (const d of done) d.job.reject(err);
        job.reject(err);
        lane.jobs.unshift(...group.slice(i + 1));
        return;
      }
      db.exec('ROLLBACK TO job');
      db.exec('RELEASE job');
      done.push({ job, ok: false, v: err });
    }
  }
  try {
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    for (const d of done) d.job.reject(err);
    return;
  }
  for (const d of done) (d.ok ? d.job.resolve : d.job.reject)(d.v);
}

async function drain(lane: Lane): Promise<void> {
  while (lane.jobs.length) {
    const first = lane.jobs.shift()!;
    const group = [first];
    // Only writes of one connection share a transaction; reads run alone.
    while (first.write && group.length < first.conn.maxGroup && lane.jobs[0]?.write && lane.jobs[0].conn === first.conn) group.push(lane.jobs.shift()!);
    await runGroup(group, lane);
    if (group.length > 1 || first.write) {
      // Let the I/O that piled up during the commit queue its jobs before the next group.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  lane.scheduled = false;
  if (lane.jobs.length) schedule(lane);
}

export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  readonly file: string;
  #conn: Conn;
  #lane: Lane;
  #stmts = new Map<string, StatementSync>();
  #closed = false;

  constructor(file: string, o: SqliteOptions = {}) {
    this.file = file;
    const db = new DatabaseSync(file, { timeout: o.busyTimeoutMs ?? 10_000 });
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${o.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    const stmt = (sql: string): StatementSync => {
      let s = this.#stmts.get(sql);
      if (!s) {
        if (this.#stmts.size >= MAX_CACHED_STATEMENTS) this.#stmts.clear();
        s = db.prepare(sql);
        this.#stmts.set(sql, s);
      }
      return s;
    };
    this.#conn = {
      db,
      maxGroup: Math.max(1, Math.floor(o.group ?? DEFAULT_GROUP)),
      tx: {
        all: async (sql: string, params: readonly Param[] = []) => stmt(sql).all(...params) as Row[],
        get: async (sql: string, params: readonly Param[] = []) => stmt(sql).get(...params) as Row | undefined,
        run: async (sql: string, params: readonly Param[] = []) => Number(stmt(sql).run(...params).changes),
      },
    };
    let lane = file === ':memory:' ? undefined : lanes.get(file);
    if (!lane) {
      lane = { jobs: [], scheduled: false, users: 0 };
      if (file !== ':memory:') lanes.set(file, lane);
    }
    lane.users++;
    this.#lane = lane;
  }

  #enqueue<T>(write: boolean, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store closed'));
    return new Promise<T>((resolve, reject) => {
      this.#lane.jobs.push({ conn: this.#conn, write, fn, resolve: resolve as (v: unknown) => void, reject });
      schedule(this.#lane);
    });
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#enqueue(true, fn);
  }

  txEach<T>(fns: ReadonlyArray<(tx: Tx) => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
    // One job: its savepoints nest inside the job's own (SQLite allows that).
    return this.#enqueue(true, async (tx) => {
      const db = this.#conn.db;
      const out: Array<PromiseSettledResult<T>> = [];
      for (const fn of fns) {
        db.exec('SAVEPOINT each');
        try {
          const value = await fn(tx);
          db.exec('RELEASE each');
          out.push({ status: 'fulfilled', value });
        } catch (reason) {
          if (!db.isTransaction) throw reason; // rolled back whole (I/O error): every fn fails
          db.exec('ROLLBACK TO each');
          db.exec('RELEASE each');
          out.push({ status: 'rejected', reason });
        }
      }
      return out;
    });
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#enqueue(false, fn);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Queued behind everything already asked of this connection.
    await this.#enqueue(false, async () => {});
    this.#closed = true;
    this.#stmts.clear();
    this.#conn.db.close();
    if (--this.#lane.users === 0 && lanes.get(this.file) === this.#lane) lanes.delete(this.file);
  }
}
