// Opens the default store: one SQLite file (WAL), created with its directory on first use.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SqliteDb, type SqliteOptions } from './driver.ts';
import { inProcessBus } from './bus.ts';
import { SqlStore } from '../sql/store.ts';
import type { StoreLimits } from '../limits.ts';
import type { HubStore } from '../types.ts';

export async function openSqliteStore(file: string, o: SqliteOptions & { limits?: Partial<StoreLimits> } = {}): Promise<HubStore> {
  const path = file === ':memory:' ? file : resolve(file);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SqliteDb(path, o);
  try {
    return await SqlStore.open(db, inProcessBus(path), o.limits, o.group !== undefined ? { group: o.group } : {});
  } catch (err) {
    await db.close();
    throw err;
  }
}
