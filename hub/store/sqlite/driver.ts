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

export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  readonly file: string;
  #db: DatabaseSync;
  #stmts = new Map<string, StatementSync>();
  #queue: Promise<unknown> = Promise.resolve();
  #tx: Tx;

  constructor(file: string, o: SqliteOptions = {}) {
    this.file = file;
    this.#db = new DatabaseSync(file, { timeout: o.busyTimeoutMs ?? 10_000 });
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
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => {});
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
      if (this.#db.isOpen) this.#db.close();
    });
  }
}
