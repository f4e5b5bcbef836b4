// The hub (`outpost-hub serve`, SQLite store) as a child process on free loopback ports, its
// JSON log in a file, and a reader for its operator API (what an operator's dashboard would show).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { REPO } from './run-cli.ts';
import { DemoFailure } from './wait.ts';

export interface HubNode {
  fingerprint: string;
  deviceId: string;
  status: 'pending' | 'accepted';
  agentVersion: string;
  lastSeen: number;
  inventory: Record<string, string | number | boolean | null> | null;
  location: { lat: number; lon: number; source: string; fixAt: number; moved?: boolean; accuracyM?: number } | null;
  deployment: {
    id: string;
    state: string | null;
    progress: { phase: string; done: number; total: number } | null;
    outcome: { result: string; code?: string; message?: string; log: string } | null;
  } | null;
  acks: Array<{ ref: string; type: string; result: string; code?: string }>;
}

export class DemoHub {
  readonly url: string;
  readonly agentUrl: string;
  readonly apiUrl: string;
  readonly token: string;
  readonly #proc: ChildProcess;

  private constructor(urls: { url: string; agentUrl: string; apiUrl: string; token: string }, proc: ChildProcess) {
    this.url = urls.url;
    this.agentUrl = urls.agentUrl;
    this.apiUrl = urls.apiUrl;
    this.token = urls.token;
    this.#proc = proc;
  }

  static async start(o: { state: string; bundles: string; log: string; signal: AbortSignal }): Promise<DemoHub> {
    const log = await open(o.log, 'a');
    // A pending node asks again after 1 s, so the operator's accept shows up quickly.
    const proc = spawn(process.execPath, [resolve(REPO, 'bin/outpost-hub.js'), 'serve', '--port', '0', '--store', `sqlite:${o.state}`, '--bundles', o.bundles, '--pending-retry', '1'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', log.fd],
    });
    await log.close();
    let out = '';
    const urls = await new Promise<{ url: string; agentUrl: string; apiUrl: string; token: string }>((done, fail) => {
      const onAbort = () => fail(new DemoFailure('the hub did not start in time'));
      o.signal.addEventListener('abort', onAbort, { once: true });
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        // The token line comes first (a fresh store), then the URLs.
        const m = /listening on (\S+) \(agents connect to (\S+); operator API on (\S+)\)/.exec(out);
        const t = /operator token \(shown once; keep it\): (\S+)/.exec(out);
        if (m) {
          o.signal.removeEventListener('abort', onAbort);
          if (!t) return fail(new DemoFailure('the hub printed no operator token (is its store new?)'));
          done({ url: m[1]!, agentUrl: m[2]!, apiUrl: m[3]!, token: t[1]! });
        }
      });
      proc.once('exit', (code) => fail(new DemoFailure(`the hub exited with ${code} (log: ${o.log})`)));
    });
    return new DemoHub(urls, proc);
  }

  /** The hub's full record of one node (by device id), or null while it has never connected. */
  async node(deviceId: string): Promise<HubNode | null> {
    const res = await fetch(`${this.apiUrl}/admin/nodes/${encodeURIComponent(deviceId)}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`hub admin API: ${res.status} ${await res.text()}`);
    const [n] = (await res.json()) as HubNode[];
    return n ?? null;
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const gone = once(this.#proc, 'exit');
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
