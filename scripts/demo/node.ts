// A simulated edge node for the demo, powered by the real agent process (`outpost run`).
// A "reboot" is real for the agent: its reboot command leaves a request, we stop the process,
// play the bootloader over the env file (test/support/boot-simulator.ts) and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GrubEnv } from '../../agent/platform/bootenv/grub-env.ts';
import { simulateBoot } from '../../test/support/boot-simulator.ts';
import { OUTPOST, REPO } from './run-cli.ts';
import { layOutNode, type NodePaths, type NodeSetup } from './node-files.ts';

export type { NodeSetup } from './node-files.ts';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface BootEvent {
  reason: string;
  booted: string | null;
  vars: Record<string, string>;
}

export class DemoNode {
  readonly root: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly #env: GrubEnv;
  readonly #bootedFile: string;
  readonly #rebootRequest: string;
  readonly #compileCache: string;
  #agent: ChildProcess | null = null;
  #stopping = false;
  #lineListeners = new Set<(l: LogLine) => void>();
  #bootListeners = new Set<(b: BootEvent) => void>();
  #watch: NodeJS.Timeout | null = null;
  #rebooting: Promise<void> | null = null;
  #down = false;
  /** Set when the agent died on its own or a reboot failed; the demo fails with it. */
  failure: Error | null = null;

  private constructor(dir: string, paths: NodePaths, compileCache: string) {
    this.root = paths.root;
    this.configPath = paths.configPath;
    this.logPath = join(dir, 'agent.log');
    this.#env = new GrubEnv({ path: paths.grubenv });
    this.#bootedFile = paths.bootedFile;
    this.#rebootRequest = paths.rebootRequest;
    this.#compileCache = compileCache;
  }

  /** Lays out the node's files and config (scripts/demo/node-files.ts), powered off. */
  static async create(s: NodeSetup): Promise<DemoNode> {
    const paths = await layOutNode(s);
    return new DemoNode(s.dir, paths, s.compileCache ?? join(s.dir, 'compile-cache'));
  }

  /** Every JSON line the agent logs (it also goes to agent.log). */
  onLog(listener: (l: LogLine) => void): void {
    this.#lineListeners.add(listener);
  }

  /** Every simulated boot, with the bootloader variables after it. */
  onBoot(listener: (b: BootEvent) => void): void {
    this.#bootListeners.add(listener);
  }

  /** First power-on: the bootloader picks a slot, then the agent starts; reboot requests are served from now on. */
  async powerOn(): Promise<void> {
    await this.#boot('power on');
    this.#startAgent();
    this.#watch = setInterval(() => void this.#checkRebootRequest(), 100);
  }

  async #checkRebootRequest(): Promise<void> {
    if (this.#rebooting || this.failure || this.#down) return;
    const reason = await readFile(this.#rebootRequest, 'utf8').catch(() => null);
    // Shut down meanwhile: no reboot starts an agent the shutdown no longer waits for.
    if (reason === null || this.#rebooting || this.#down) return;
    this.#rebooting = (async () => {
      await rm(this.#rebootRequest, { force: true });
      await this.#stopAgent(); // like systemd stopping services on the way down
      await this.#boot(reason.trim());
      if (!this.#down) this.#startAgent();
    })()
      .catch((err: Error) => void (this.failure ??= err))
      .finally(() => (this.#rebooting = null));
  }

  async #boot(reason: string): Promise<void> {
    const { booted } = await simulateBoot(this.#env, { bootedSlotFile: this.#bootedFile });
    const vars = await this.#env.read();
    for (const l of this.#bootListeners) l({ reason, booted, vars });
  }

  #startAgent(): void {
    const out = createWriteStream(this.logPath, { flags: 'a' });
    const child = spawn(process.execPath, [OUTPOST, 'run', '--config', this.configPath], {
      cwd: REPO,
      env: { ...process.env, NODE_COMPILE_CACHE: this.#compileCache },
      // Own process group: stopping the "machine" also stops a health check or reboot command in flight.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#agent = child;
    let pending = '';
    child.stdout!.on('data', (b: Buffer) => {
      out.write(b);
      pending += b.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text, level: 'raw' };
        }
        for (const l of this.#lineListeners) l(line);
      }
    });
    child.stderr!.on('data', (b: Buffer) => out.write(b));
    child.once('exit', (code, signal) => {
      out.end();
      if (!this.#stopping && this.#agent === child) this.failure ??= new Error(`the agent exited on its own (${signal ?? `code ${code}`})`);
    });
  }

  async #stopAgent(): Promise<void> {
    const child = this.#agent;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.#stopping = true;
    const gone = once(child, 'exit');
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 30_000); // like systemd's stop timeout: a busy agent gets time to close its files
    await gone;
    clearTimeout(timer);
    signalGroup(child, 'SIGKILL'); // stragglers in the group
    this.#stopping = false;
  }

  /** Which slot the bootloader started last. */
  async booted(): Promise<string> {
    return (await readFile(this.#bootedFile, 'utf8').catch(() => '?')).trim();
  }

  async shutdown(): Promise<void> {
    this.#down = true;
    if (this.#watch) clearInterval(this.#watch);
    await this.#rebooting;
    await this.#stopAgent();
  }
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}
