// `outpost-hub serve` as a child process for the simulator, the bench and tests: its URLs and
// first operator token from stdout, its JSON log to a file, CPU time and RSS from /proc, kill
// and restart on the same store and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const HUB = resolve(import.meta.dirname, '../../bin/outpost-hub.js');
const TICK_HZ = 100; // USER_HZ on Linux

export interface HubProcessOptions {
  store: string;
  bundles: string;
  log: string;
  port?: number;
  apiPort?: number;
  args?: string[];
  /** Kills the start when it aborts. */
  signal?: AbortSignal;
}

export class HubProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly agentUrl: string;
  readonly apiUrl: string;
  /** The token printed at the store's first start (null on later starts). */
  readonly token: string | null;

  private constructor(proc: ChildProcess, urls: { url: string; agentUrl: string; apiUrl: string }, token: string | null) {
    this.proc = proc;
    this.url = urls.url;
    this.agentUrl = urls.agentUrl;
    this.apiUrl = urls.apiUrl;
    this.token = token;
  }

  static async start(o: HubProcessOptions): Promise<HubProcess> {
    const log = await open(o.log, 'a');
    const proc = spawn(process.execPath, [HUB, 'serve', '--store', o.store, '--bundles', o.bundles, '--port', String(o.port ?? 0), '--api-port', String(o.apiPort ?? 0), ...(o.args ?? [])], {
      stdio: ['ignore', 'pipe', log.fd],
    });
    await log.close();
    let out = '';
    const found = await new Promise<{ url: string; agentUrl: string; apiUrl: string; token: string | null }>((done, fail) => {
      const onAbort = () => {
        proc.kill('SIGKILL');
        fail(new Error('the hub did not start in time'));
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\S+) \(agents connect to (\S+); operator API on (\S+)\)/.exec(out);
        if (!m) return;
        o.signal?.removeEventListener('abort', onAbort);
        done({ url: m[1]!, agentUrl: m[2]!, apiUrl: m[3]!, token: /operator token[^:]*: (\S+)/.exec(out)?.[1] ?? null });
      });
      proc.once('exit', (code) => fail(new Error(`the hub exited with ${code} (log: ${o.log})`)));
    });
    proc.stdout!.resume();
    return new HubProcess(proc, found, found.token);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** User + system CPU seconds used so far. */
  async cpuSeconds(): Promise<number> {
    const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK_HZ;
  }

  /** Resident set size in MiB. */
  async rssMiB(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  /** An operator API call with `token`. */
  async api<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<T> {
    const req = () => fetch(`${this.apiUrl}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
    // A kept-alive connection to a hub process killed since (same port) resets once: ask again.
    const res = await req().catch((err: Error & { cause?: { code?: string } }) => {
      if (err.cause?.code !== 'ECONNRESET') throw err;
      return req();
    });
    const out = (await res.json()) as T & { error?: string; code?: string };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${out.code ?? ''} ${out.error ?? ''}`);
    return out;
  }

  /** SIGTERM (clean) or SIGKILL (crash); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = once(this.proc, 'exit');
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}
