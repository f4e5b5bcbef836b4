// node:sqlite (DatabaseSync) behind the async Db interface. One connection per store; calls are
// synchronous, so transactions are queued one after another (an await inside one must not let
// another interleave on the same connection). WAL lets readers in other processes go on while
// we write; the busy timeout makes a second process wait for the write lock instead of failing.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { sqliteDialect } from '../sql/dialect.ts';
import type { Db, Param, Row, Tx } from '../sql/db.ts';

export interface SqliteOptions {
  /** `full` (default): a commit is on disk before an ack; `normal`: WAL may lose the last commits on power loss. */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
}

const MAX_CACHED_STATEMENTS = 500;

// Transactions of every connection to one file in this process go through one queue: a second
// connection's BEGIN IMMEDIATE would otherwise block the thread in SQLite's busy handler while
// the first transaction waits for that same thread to go on.
const queues = new Map<string, { tail: Promise<unknown>; users: number }>();

export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  readonly file: string;
  #db: DatabaseSync;
  #stmts = new Map<string, StatementSync>();
  #queue: { tail: Promise<unknown>; users: number };
  #tx: Tx;

  constructor(file: string, o: SqliteOptions = {}) {
    this.file = file;
    this.#db = new DatabaseSync(file, { timeout: o.busyTimeoutMs ?? 10_000 });
    const key = file === ':memory:' ? Symbol() : file;
    let q = typeof key === 'string' ? queues.get(key) : undefined;
    if (!q) {
      q = { tail: Promise.resolve(), users: 0 };
      if (typeof key === 'string') queues.set(key, q);
    }
    q.users++;
    this.#queue = q;
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec(`PRAGMA synchronous = ${o.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.#db.exec('PRAGMA foreign_keys = OFF');
    const stmt = (sql: string): StatementSync => {
      let s = this.#stmts.get(sql);
      if (!s) {
        if (this.#stmts.size >= MAX_CACHED_STATEMENTS) this.#stmts.clear();
        s = this.#db.prepare(sql);
        this.#stmts.set(sql, s);
      }
      return s;
    };
    this.#tx = {
      all: async (sql: string, params: readonly Param[] = []) => stmt(sql).all(...params) as Row[],
      get: async (sql: string, params: readonly Param[] = []) => stmt(sql).get(...params) as Row | undefined,
      run: async (sql: string, params: readonly Param[] = []) => Number(stmt(sql).run(...params).changes),
    };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.tail.then(fn, fn);
    this.#queue.tail = p.catch(() => {});
    return p;
  }

  #run<T>(begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      this.#db.exec(begin);
      try {
        const out = await fn(this.#tx);
        this.#db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the write lock up front: no deadlock upgrading a read lock later.
    return this.#run('BEGIN IMMEDIATE', fn);
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#run('BEGIN', fn);
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      this.#stmts.clear();
      if (!this.#db.isOpen) return;
      this.#db.close();
      if (--this.#queue.users === 0 && queues.get(this.file) === this.#queue) queues.delete(this.file);
    });
  }
}
