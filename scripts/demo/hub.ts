// The reference hub (hub/main.ts) as a child process on a free loopback port, its JSON
// log in a file, and a reader for its admin API (what an operator's dashboard would show).
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
  readonly #proc: ChildProcess;

  private constructor(url: string, proc: ChildProcess) {
    this.url = url;
    this.agentUrl = `${url.replace(/^http/, 'ws')}/agent`;
    this.#proc = proc;
  }

  static async start(o: { state: string; bundles: string; log: string; signal: AbortSignal }): Promise<DemoHub> {
    const log = await open(o.log, 'a');
    // A pending node asks again after 1 s, so the operator's accept shows up quickly.
    const proc = spawn(process.execPath, [resolve(REPO, 'hub/main.ts'), '--port', '0', '--state', o.state, '--bundles', o.bundles, '--pending-retry', '1'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', log.fd],
    });
    await log.close();
    let out = '';
    const url = await new Promise<string>((done, fail) => {
      const onAbort = () => fail(new DemoFailure('the hub did not start in time'));
      o.signal.addEventListener('abort', onAbort, { once: true });
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          o.signal.removeEventListener('abort', onAbort);
          done(m[1]!);
        }
      });
      proc.once('exit', (code) => fail(new DemoFailure(`the hub exited with ${code} (log: ${o.log})`)));
    });
    return new DemoHub(url, proc);
  }

  /** The hub's full record of one node (by device id), or null while it has never connected. */
  async node(deviceId: string): Promise<HubNode | null> {
    const res = await fetch(`${this.url}/admin/node`, { method: 'POST', body: JSON.stringify({ node: deviceId }) });
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
