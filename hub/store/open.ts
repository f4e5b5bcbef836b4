// Opens the store a hub is configured with: `sqlite:<file>` or a bare path (the default, one
// process) or `postgres://…` (several hub processes on one database).
import { OutpostError } from '../../shared/errors.ts';
import { openSqliteStore } from './sqlite/index.ts';
import type { HubStore, StoreConfig } from './types.ts';

export async function openStore(c: StoreConfig): Promise<HubStore> {
  const url = c.url.trim();
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Loaded only when used: a SQLite hub never loads the pg driver.
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore(url, c.limits ? { limits: c.limits } : {});
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new OutpostError('E_STORE_URL', `store URL: sqlite:<file> or postgres://…, not ${url.split(':')[0]}://`);
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/^sqlite:/, '');
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  if (!path) throw new OutpostError('E_STORE_URL', 'store URL: sqlite:<file> needs a file');
  const sync = params.get('synchronous');
  if (sync !== null && sync !== 'full' && sync !== 'normal') throw new OutpostError('E_STORE_URL', 'synchronous: full | normal');
  return openSqliteStore(path, { ...(sync ? { synchronous: sync } : {}), ...(c.limits ? { limits: c.limits } : {}) });
}
