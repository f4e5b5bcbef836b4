// A simulated edge node for the demo: two 8 MiB file-backed slots, a GRUB environment file, a
// booted-slot file playing the kernel command line, and the real agent process (`outpost run`).
// A "reboot" is real for the agent: its reboot command leaves a request, we stop the process,
// play the bootloader over the env file (test/support/boot-simulator.ts) and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { GrubEnv, createGrubEnvFile } from '../../agent/platform/bootenv/grub-env.ts';
import { setSlotRecord } from '../../agent/update/slot-records.ts';
import { simulateBoot } from '../../test/support/boot-simulator.ts';
import { OUTPOST, REPO } from './run-cli.ts';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface NodeSetup {
  dir: string;
  deviceId: string;
  hubUrl: string;
  slotSize: number;
  /** Image already in slot A ("from the factory"), with its version. */
  factoryImage: { path: string; version: string; release: number };
  /** Directory with the trust store files (root.json) to install on the node. */
  trustFile: string;
  compatible: string;
  /** Extra config sections (fetch windows, location survey). */
  extra: Record<string, unknown>;
}

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
  /** Set when the agent died on its own or a reboot failed; the demo fails with it. */
  failure: Error | null = null;

  private constructor(dir: string) {
    this.root = join(dir, 'node');
    this.configPath = join(this.root, 'etc/outpost/config.json');
    this.logPath = join(dir, 'agent.log');
    this.#env = new GrubEnv({ path: join(this.root, 'boot/grubenv') });
    this.#bootedFile = join(this.root, 'run/outpost/booted-slot');
    this.#rebootRequest = join(this.root, 'run/reboot-requested');
    this.#compileCache = join(dir, 'compile-cache');
  }

  /** Lays out the node's files and writes its provisioned config (as an installer would). */
  static async create(s: NodeSetup): Promise<DemoNode> {
    const node = new DemoNode(s.dir);
    const r = node.root;
    for (const d of ['slots', 'boot', 'run/outpost', 'etc/outpost/trust', 'var/lib/outpost/update']) await mkdir(join(r, d), { recursive: true });
    const slotPath = (name: string) => join(r, `slots/${name.toLowerCase()}.img`);
    for (const name of ['A', 'B']) {
      await writeFile(slotPath(name), '');
      await truncate(slotPath(name), s.slotSize);
    }
    // Factory state: version 1 in slot A, committed and first in the boot order.
    const image = await readFile(s.factoryImage.path);
    const fh = await open(slotPath('A'), 'r+');
    await fh.write(image, 0, image.length, 0).finally(() => fh.close());
    await setSlotRecord(join(r, 'var/lib/outpost/update'), 'A', {
      version: s.factoryImage.version, release: s.factoryImage.release, size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'), installedAt: new Date().toISOString(), deployment: 'factory',
    });
    await createGrubEnvFile(join(r, 'boot/grubenv'), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '0', OUTPOST_A_GOOD: '1' });
    await copyFile(s.trustFile, join(r, 'etc/outpost/trust/root.json'));
    await mkdir(join(r, 'etc/outpost/inventory.d'));
    await writeFile(join(r, 'etc/outpost/inventory.d/rootfs'), rootfsInventoryScript(node.#bootedFile, slotPath), { mode: 0o755 });

    const config = {
      core: { root: r, stateDir: '/var/lib/outpost', logLevel: 'info' },
      hub: { url: s.hubUrl, deviceId: s.deviceId, backoffBaseMs: 200, backoffCapMs: 2000, pingIntervalMs: 2000, locationIntervalS: 2 },
      inventory: { scriptsDir: '/etc/outpost/inventory.d', randomDelayS: 0 },
      update: {
        slots: ['A', 'B'].map((name) => ({ name, class: 'rootfs', path: `/slots/${name.toLowerCase()}.img`, kind: 'file' })),
        bootEnv: { kind: 'grub', path: '/boot/grubenv' },
        tries: 3,
        rebootCommand: [process.execPath, join(REPO, 'scripts/demo/reboot-request.ts'), node.#rebootRequest],
        rebootTimeoutMs: 10_000,
        healthChecks: [{
          name: 'app-selftest', timeoutMs: 10_000, command: process.execPath,
          args: [join(REPO, 'scripts/demo/health-check.ts'), node.#bootedFile, `A=${slotPath('A')}`, `B=${slotPath('B')}`],
        }],
        bootedSlot: { source: 'file', path: '/run/outpost/booted-slot' },
        checkpointBytes: 1 << 20,
      },
      bundle: { trustStore: '/etc/outpost/trust', floorFile: '/var/lib/outpost/release-floor', compatible: [s.compatible] },
      ...s.extra,
    };
    await writeFile(node.configPath, JSON.stringify(config, null, 2) + '\n');
    return node;
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
    if (this.#rebooting || this.failure) return;
    const reason = await readFile(this.#rebootRequest, 'utf8').catch(() => null);
    if (reason === null) return;
    this.#rebooting = (async () => {
      await rm(this.#rebootRequest, { force: true });
      await this.#stopAgent(); // like systemd stopping services on the way down
      await this.#boot(reason.trim());
      this.#startAgent();
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
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
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
    if (this.#watch) clearInterval(this.#watch);
    await this.#rebooting;
    await this.#stopAgent();
  }
}

/**
 * A custom inventory script (`custom.rootfs.slot`, `custom.rootfs.version`): what the running
 * system is, as /etc/os-release would tell on a device, so the hub sees the version change.
 */
function rootfsInventoryScript(bootedFile: string, slotPath: (name: string) => string): string {
  return `#!/bin/sh
slot=$(cat '${bootedFile}')
case "$slot" in
  A) image='${slotPath('A')}' ;;
  B) image='${slotPath('B')}' ;;
  *) echo "slot=unknown"; exit 0 ;;
esac
echo "slot=$slot"
head -c 4096 "$image" | tr -d '\\000' | grep '^version='
`;
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}
