// PostgreSQL (npm `pg`) behind the async Db interface: a pool of connections, one per running
// transaction. Statements are prepared per connection (named by a hash of their text). A
// transaction that loses a race the database detects (deadlock, serialisation failure, a unique
// key inserted meanwhile by another hub process) is run again from the start: store
// transactions are functions of what they read, so a rerun is safe.
import { createHash } from 'node:crypto';
import { Pool, types, type PoolClient } from 'pg';
import { postgresDialect } from '../sql/dialect.ts';
import type { Db, Param, Row, Tx } from '../sql/db.ts';

const INT8 = 20;
/** BIGINT and COUNT(*) as JavaScript numbers (every value we keep is below 2^53). */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
};

const RETRY = new Set(['40001', '40P01', '23505']);
const ATTEMPTS = 4;

function txOf(c: PoolClient): Tx {
  const names = new Map<string, string>();
  const q = async (sql: string, params: readonly Param[]) => {
    let name = names.get(sql);
    if (!name) names.set(sql, (name = 'q' + createHash('sha1').update(sql).digest('hex').slice(0, 20)));
    return c.query({ name, text: postgresDialect.placeholders(sql), values: params as Param[] });
  };
  return {
    all: async (sql, params = []) => (await q(sql, params)).rows as Row[],
    get: async (sql, params = []) => (await q(sql, params)).rows[0] as Row | undefined,
    run: async (sql, params = []) => (await q(sql, params)).rowCount ?? 0,
  };
}

export class PgDb implements Db {
  readonly dialect = postgresDialect;
  readonly pool: Pool;

  constructor(connectionString: string, o: { max?: number } = {}) {
    this.pool = new Pool({ connectionString, max: o.max ?? 10, types: pgTypes });
    // An idle connection that dies (server restart) must not crash the hub; the pool replaces it.
    this.pool.on('error', () => {});
  }

  async #run<T>(begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      let broken = false;
      try {
        await c.query(begin);
        const out = await fn(txOf(c));
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (err as { code?: string }).code;
        if (attempt >= ATTEMPTS || !code || !RETRY.has(code)) throw err;
      } finally {
        c.release(broken);
      }
    }
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#run('BEGIN', fn);
  }

  txEach<T>(fns: ReadonlyArray<(tx: Tx) => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
    return this.#run('BEGIN', async (tx) => {
      const out: Array<PromiseSettledResult<T>> = [];
      for (const fn of fns) {
        await tx.run('SAVEPOINT each');
        try {
          const value = await fn(tx);
          await tx.run('RELEASE SAVEPOINT each');
          out.push({ status: 'fulfilled', value });
        } catch (reason) {
          // A lost race (deadlock, serialisation, a key inserted meanwhile) reruns the whole group.
          const code = (reason as { code?: string }).code;
          if (code && RETRY.has(code)) throw reason;
          await tx.run('ROLLBACK TO SAVEPOINT each');
          await tx.run('RELEASE SAVEPOINT each');
          out.push({ status: 'rejected', reason });
        }
      }
      return out;
    });
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
