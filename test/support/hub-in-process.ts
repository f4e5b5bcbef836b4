// The hub in the test's own process (hub/app.ts on a SQLite store in a temp dir), for tests that
// look at its store directly. Also a real signed bundle to serve. Always close() it.
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { openStore } from '../../hub/store/open.ts';
import { startHub, type Hub, type HubOptions } from '../../hub/app.ts';
import { nodeDetail } from '../../hub/api/node-view.ts';
import { silentLogger } from '../../agent/log/logger.ts';
import { devKeys, makeBundle, makeImage } from './bundle-fixtures.ts';

export interface TestHub {
  hub: Hub;
  /** The node's detail record as the operator API shows it, or undefined when unknown. */
  detail(fp: string): Promise<Awaited<ReturnType<typeof nodeDetail>> | undefined>;
  /** An operator API call with the hub's token; throws on a non-2xx answer. */
  admin<T = any>(path: string, body?: unknown, method?: string): Promise<T>;
  close(): Promise<void>;
}

export async function startTestHub(dir: string, o: Partial<Omit<HubOptions, 'store'>> & { storeFile?: string } = {}): Promise<TestHub> {
  const store = await openStore({ url: `sqlite:${o.storeFile ?? join(dir, 'hub.db')}` });
  const hub = await startHub({ host: '127.0.0.1', port: 0, bundlesDir: join(dir, 'bundles'), initialToken: false, log: silentLogger(), ...o, store });
  const token = (await store.createToken('test', Date.now())).token;
  return {
    hub,
    async detail(fp) {
      const n = await store.getNode(fp);
      return n ? nodeDetail(store, n) : undefined;
    },
    async admin(path, body, method = body === undefined ? 'GET' : 'POST') {
      const res = await fetch(`${hub.apiUrl}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
      const out = await res.json();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(out)}`);
      return out as any;
    },
    async close() {
      await hub.close();
      await store.close();
    },
  };
}

/** A small real bundle (dev keys, compatible outpost-test-board) at `path`. */
export async function testBundle(path: string, o: { version?: string; release?: number; compatible?: string[]; seed?: number } = {}): Promise<string> {
  const image = await makeImage(`${path}.img`, 256 * 1024, o.seed ?? 1);
  await makeBundle({ image, out: path, keys: await devKeys(['dev-a']), ...o });
  await rm(image); // only bundles in the bundles directory
  return path;
}
