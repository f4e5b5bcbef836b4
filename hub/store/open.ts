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
    // Our own option is taken out; the rest of the URL is the pg driver's.
    const u = new URL(url);
    const group = groupOf(u.searchParams.get('group'));
    u.searchParams.delete('group');
    return openPostgresStore(group === undefined ? url : u.toString(), { ...(c.limits ? { limits: c.limits } : {}), ...(group !== undefined ? { group } : {}) });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new OutpostError('E_STORE_URL', `store URL: sqlite:<file> or postgres://…, not ${url.split(':')[0]}://`);
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/^sqlite:/, '');
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  if (!path) throw new OutpostError('E_STORE_URL', 'store URL: sqlite:<file> needs a file');
  const sync = params.get('synchronous');
  if (sync !== null && sync !== 'full' && sync !== 'normal') throw new OutpostError('E_STORE_URL', 'synchronous: full | normal');
  const group = groupOf(params.get('group'));
  return openSqliteStore(path, { ...(sync ? { synchronous: sync } : {}), ...(group !== undefined ? { group } : {}), ...(c.limits ? { limits: c.limits } : {}) });
}

/** `group=N`: most transactions (report batches) committed together; 1 commits each alone. */
function groupOf(v: string | null): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new OutpostError('E_STORE_URL', 'group: a whole number from 1 to 4096');
  return n;
}
