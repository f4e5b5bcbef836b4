// Builds the dashboard's browser files with esbuild: one script (the app, Leaflet included) and
// one stylesheet. The hub binary carries the result as SEA assets (scripts/build); a hub run from
// a checkout builds them in memory at start, so there is no generated file to keep in step.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Esbuild from 'esbuild';

export const WEB_DIR = join(import.meta.dirname, 'web');

/** File name (as served) → bytes. */
export type DashboardFiles = Record<'index.html' | 'app.js' | 'app.css', Buffer>;

export async function buildDashboard(esbuild: Pick<typeof Esbuild, 'build'>): Promise<DashboardFiles> {
  const r = await esbuild.build({
    entryPoints: { app: join(WEB_DIR, 'app.ts') },
    bundle: true,
    write: false,
    outdir: '/dashboard',
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'none',
    // Leaflet's stylesheet names marker images; they become data: URLs (no request at run time).
    loader: { '.png': 'dataurl', '.svg': 'dataurl' },
    logLevel: 'warning',
  });
  const pick = (ext: string) => {
    const f = r.outputFiles.find((o) => o.path.endsWith(ext));
    if (!f) throw new Error(`dashboard build made no ${ext}`);
    return Buffer.from(f.contents);
  };
  return {
    'index.html': await readFile(join(WEB_DIR, 'index.html')),
    'app.js': pick('.js'),
    'app.css': pick('.css'),
  };
}
