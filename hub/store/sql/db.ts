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
  /** Runs `fn` on a consistent read view (no writes). */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
