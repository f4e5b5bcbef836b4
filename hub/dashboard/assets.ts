// The dashboard's files as the hub serves them. Inside the single binary they are SEA assets
// (made by scripts/build); in a checkout they are built once, on first use, with the esbuild the
// checkout has as a dev dependency (loaded with require, so the binary's bundle never holds it).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as sea from 'node:sea';
import type * as Esbuild from 'esbuild';
import type { DashboardFiles } from './build.ts';

export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
export const DASHBOARD_FILES = Object.keys(TYPES) as Array<keyof DashboardFiles>;
/** The SEA asset key of a dashboard file. */
export const seaKey = (name: string) => `dashboard/${name}`;

async function readFiles(): Promise<Record<string, Buffer>> {
  if (sea.isSea()) {
    return Object.fromEntries(DASHBOARD_FILES.map((n) => [n, Buffer.from(sea.getAsset(seaKey(n)))]));
  }
  const load = createRequire(import.meta.url);
  const esbuild = load('esbuild') as typeof Esbuild;
  const { buildDashboard } = load('./build.ts') as typeof import('./build.ts');
  return buildDashboard(esbuild);
}

let loading: Promise<Map<string, Asset>> | null = null;

/** Every file, loaded once per process. */
export function dashboardAssets(): Promise<Map<string, Asset>> {
  loading ??= readFiles().then((files) => new Map(Object.entries(files).map(([name, body]) => [name, {
    type: TYPES[name] ?? 'application/octet-stream',
    body,
    etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
  }])));
  // A failed build is retried at the next request rather than cached.
  loading.catch(() => { loading = null; });
  return loading;
}
