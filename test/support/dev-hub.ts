// Starts the hub (`bin/outpost-hub.js serve`, SQLite store) as a real child process for tests,
// and talks to its operator API with the token it printed at its first start. Always stop() it
// in `after`/`finally`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

export const HUB_BIN = resolve(import.meta.dirname, '../../bin/outpost-hub.js');

export interface HubProcess {
  /** The agent endpoint's base URL (bundle downloads). */
  url: string;
  agentUrl: string;
  /** The operator API. */
  apiUrl: string;
  port: number;
  /** The operator token made at the store's first start. */
  token: string;
  proc: ChildProcess;
  stderr: () => string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** SIGTERM (clean) or SIGKILL (crash); resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface HubProcessOptions {
  /** SQLite file of the hub's store (created at the first start). */
  store: string;
  bundles: string;
  port?: number;
  args?: string[];
}

/** Tokens printed at a store's first start, by store file: a restarted hub prints none. */
const tokens = new Map<string, string>();

export async function startHubProcess(o: HubProcessOptions): Promise<HubProcess> {
  const proc = spawn(process.execPath, [HUB_BIN, 'serve', '--port', String(o.port ?? 0), '--store', `sqlite:${o.store}`, '--bundles', o.bundles, ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-200_000);
  });
  let out = '';
  const [url, agentUrl, apiUrl] = await new Promise<[string, string, string]>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${err}`)), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      // Printed before the listening line, at the store's first start only.
      const t = /operator token \(shown once; keep it\): (\S+)/.exec(out);
      if (t) tokens.set(o.store, t[1]!);
      const m = /listening on (\S+) \(agents connect to (\S+); operator API on (\S+)\)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl([m[1]!, m[2]!, m[3]!]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code}: ${err}`));
    });
  });
  const token = tokens.get(o.store);
  if (!token) throw new Error(`hub printed no operator token and none is known for ${o.store}`);
  return {
    url, agentUrl, apiUrl,
    port: Number(new URL(url).port),
    token,
    proc,
    stderr: () => err,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json as T;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = once(proc, 'exit');
      proc.kill(signal);
      await gone;
    },
  };
}

export { waitFor } from './wait-for.ts';
