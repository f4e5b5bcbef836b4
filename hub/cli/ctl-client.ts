// What every `outpost-hub ctl` command shares: the operator API client (hub URL and token from
// flags or the environment) and plain-text tables. Rollout commands (hub/cli/ctl-rollout.ts)
// build on the same pieces.
import { readFileSync } from 'node:fs';
import { OutpostError } from '../../shared/errors.ts';

export interface CtlTarget {
  hub: string;
  token: string;
}

/** --hub / OUTPOST_HUB_URL and --token / --token-file / OUTPOST_HUB_TOKEN. */
export function ctlTarget(v: { hub?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined }): CtlTarget {
  const hub = v.hub ?? process.env.OUTPOST_HUB_URL;
  let token = v.token ?? process.env.OUTPOST_HUB_TOKEN;
  if (!token && v['token-file']) token = readFileSync(v['token-file'], 'utf8').trim();
  if (!hub) throw new OutpostError('E_USAGE', 'give the operator API URL: --hub URL or OUTPOST_HUB_URL');
  if (!token) throw new OutpostError('E_USAGE', 'give an operator token: --token T, --token-file F or OUTPOST_HUB_TOKEN');
  return { hub: hub.replace(/\/+$/, ''), token };
}

/** One API call; a refusal becomes E_HUB_ADMIN with the API's code and message. */
export async function call<T = unknown>(t: CtlTarget, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.hub}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
  } catch (err) {
    throw new OutpostError('E_HUB_ADMIN', `cannot reach ${t.hub}: ${(err as Error).message}`);
  }
  const out = (await res.json().catch(() => ({}))) as { code?: string; error?: string };
  if (!res.ok) throw new OutpostError('E_HUB_ADMIN', `${out.error ?? res.status}${out.code ? ` (${out.code})` : ''}`);
  return out as T;
}

/** Left-aligned columns, a header line, cells cut at 40 characters. */
export function table<R extends Record<string, any>>(rows: R[], columns: Array<[header: string, cell: (r: R) => unknown]>): string {
  const text = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v)).slice(0, 40);
  const cells = rows.map((r) => columns.map(([, f]) => text(f(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return line(columns.map(([h]) => h)) + cells.map(line).join('');
}

/** "3m ago" for a time in the past. */
export function ago(t: unknown, now = Date.now()): string {
  if (typeof t !== 'number' || t <= 0) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : s < 86_400 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86_400)}d ago`;
}
