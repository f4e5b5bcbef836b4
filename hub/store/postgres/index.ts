// Opens the shared store: PostgreSQL, for several hub processes serving one fleet.
import { PgDb } from './driver.ts';
import { PgBus } from './bus.ts';
import { SqlStore } from '../sql/store.ts';
import type { StoreLimits } from '../limits.ts';
import type { HubStore } from '../types.ts';

export async function openPostgresStore(url: string, o: { limits?: Partial<StoreLimits>; poolSize?: number; group?: number } = {}): Promise<HubStore> {
  const db = new PgDb(url, o.poolSize !== undefined ? { max: o.poolSize } : {});
  try {
    return await SqlStore.open(db, new PgBus(url), o.limits, o.group !== undefined ? { group: o.group } : {});
  } catch (err) {
    await db.close();
    throw err;
  }
}
