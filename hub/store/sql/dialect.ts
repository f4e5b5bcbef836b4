// Everything that differs between the SQLite and PostgreSQL SQL of the store, in one place.
// Placeholders: statements use `?`; PostgreSQL wants $1, $2… Row locks: PostgreSQL takes them
// with FOR UPDATE; SQLite has one writer at a time (BEGIN IMMEDIATE), so it needs none.

export interface Dialect {
  name: 'sqlite' | 'postgres';
  /** Appended to a SELECT that reads a row the transaction will then update. */
  forUpdate: string;
  /** Serialises schema migrations between processes (inside the migration transaction). */
  migrationLock: string | null;
  /** Rewrites `?` placeholders for the driver. */
  placeholders(sql: string): string;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  migrationLock: null,
  placeholders: (sql) => sql,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  // Any constant works; it only has to be the same in every hub process.
  migrationLock: 'SELECT pg_advisory_xact_lock(7157430019)',
  placeholders: (sql) => {
    // Our statements never hold a literal '?' (no JSON operators, no strings with '?').
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  },
};
