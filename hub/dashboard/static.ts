// Serves the dashboard page and its two files on the operator listener. They hold no fleet data
// (that needs a token, like every /admin request), so they need none; a strict CSP keeps the
// page to its own origin plus the configured map tiles.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dashboardAssets } from './assets.ts';

const PATHS: Record<string, string> = { '/': 'index.html', '/dashboard': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css' };

export function isDashboardPath(path: string): boolean {
  return path in PATHS;
}

function csp(tiles: string | null): string {
  let img = "'self' data:";
  if (tiles) {
    try {
      const u = new URL(tiles.replace(/\{[a-z]\}/g, '0'));
      img += ` ${u.protocol}//${u.host.replace(/^\w+\./, '*.')} ${u.protocol}//${u.host}`;
    } catch { /* an unparsable template loads no tiles anyway */ }
  }
  return `default-src 'self'; img-src ${img}; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`;
}

export async function serveDashboard(req: IncomingMessage, res: ServerResponse, path: string, tiles: string | null): Promise<void> {
  const name = PATHS[path]!;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const asset = (await dashboardAssets()).get(name)!;
  const headers = {
    'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache',
    'content-security-policy': csp(tiles), 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
