// The few things the shared SQL store needs from a database driver. Statements are written once
// with `?` placeholders in SQL that SQLite and PostgreSQL both accept (ON CONFLICT upserts,
// RETURNING, LIMIT); what still differs is in dialect.ts.
import type { Dialect } from './dialect.ts';

export type Param = string | number | null;
export type Row = Record<string, unknown>;

export interface Tx {
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  get(sql: string, params?: readonly Param[]): Promise<Row | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface Db {
  readonly dialect: Dialect;
  /** Runs `fn` in one write transaction (committed when it resolves, rolled back when it throws). */
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Group commit: runs every fn in ONE write transaction, each in a savepoint of its own (a fn
   * that throws rolls back only its own writes), and settles them all after the single COMMIT.
   * Results are in the order of `fns`; when the transaction itself fails, every fn is rejected.
   */
  txEach<T>(fns: ReadonlyArray<(tx: Tx) => Promise<T>>): Promise<Array<PromiseSettledResult<T>>>;
  /** Runs `fn` on a consistent read view (no writes). */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
