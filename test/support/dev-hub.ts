// Starts the reference hub (hub/main.ts) as a real child process for tests, and talks
// to its admin API. Always stop() it in `after`/`finally`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

const SCRIPT = resolve(import.meta.dirname, '../../hub/main.ts');

export interface HubProcess {
  url: string;
  agentUrl: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** SIGTERM (clean) or SIGKILL (crash); resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface HubProcessOptions {
  state: string;
  bundles: string;
  port?: number;
  args?: string[];
}

export async function startHubProcess(o: HubProcessOptions): Promise<HubProcess> {
  const proc = spawn(process.execPath, [SCRIPT, '--port', String(o.port ?? 0), '--state', o.state, '--bundles', o.bundles, ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-200_000);
  });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev hub did not start: ${err}`)), 15_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dev hub exited with ${code}: ${err}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    agentUrl: `${url.replace('http:', 'ws:')}/agent`,
    port,
    proc,
    stderr: () => err,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
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

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
