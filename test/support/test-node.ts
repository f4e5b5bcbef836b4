// A simulated node for update tests: file-backed A/B slots, a GRUB env file, the boot simulator
// as reboot command, and the real CLI run as a child process (SIGKILLed as a process group, so
// a reboot command in flight dies with it, like a power cut).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { GrubEnv, createGrubEnvFile } from '../../agent/platform/bootenv/grub-env.ts';
import { UbootEnv } from '../../agent/platform/bootenv/uboot-env.ts';
import type { BootEnv } from '../../agent/platform/types.ts';
import { openSlotDevice } from '../../agent/platform/slots/slot-device.ts';
import { setSlotRecord } from '../../agent/update/slot-records.ts';
import { validateJournal, type Journal } from '../../agent/update/journal.ts';
import { simulateBoot } from './boot-simulator.ts';

export const REPO = resolve(import.meta.dirname, '../..');
const SIM_REBOOT = join(REPO, 'test/support/sim-reboot.ts');
const SLOTS = ['A', 'B'] as const;
const COMPILE_CACHE = join(tmpdir(), 'outpost-test-compile-cache');

export interface Image {
  path: string;
  size: number;
  sha256: string;
}

/** Everything a node needs to trust a bundle: the bundle file, its image and the bundle config section. */
export interface BundleKit {
  bundle: string;
  old: Image;
  new: Image;
  /** `bundle` config section for a node whose files live under nodeRoot, config root configRoot. */
  bundleConfig(nodeRoot: string, configRoot: string): Promise<Record<string, unknown>>;
}

export interface NodeOptions {
  kit: BundleKit;
  slotSize: number;
  /** Health check commands ([file, ...args]); all must exit 0. */
  healthChecks?: string[][];
  checkpointBytes?: number;
  tries?: number;
  /** Override slot paths (block devices); root stays a temp dir. */
  slotPaths?: Record<string, string>;
  /** 'fw-tool': a redundant U-Boot env in a file, written through the real fw_setenv (default 'grub'). */
  bootEnv?: 'grub' | 'fw-tool';
  /** Replaces the boot simulator as reboot command (e.g. ['/bin/true']: the reboot never happens). */
  rebootCommand?: string[];
}

/** Bytes per U-Boot env copy of a fw-tool test node (two copies in one file). */
export const UBOOT_ENV_SIZE = 0x1000;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

export interface KillPlan {
  /** Kill once a stdout line matches, after `delayMs`. */
  when: (line: string) => boolean;
  delayMs: number;
}

export class TestNode {
  readonly dir: string;
  readonly root: string;
  readonly configPath: string;
  readonly envPath: string;
  readonly bootedFile: string;
  readonly stateDir: string;
  readonly kit: BundleKit;
  readonly slotPaths: Record<string, string>;
  readonly envKind: 'grub' | 'fw-tool';
  /** fw-tool nodes: the fw_env.config naming the two copies in envPath. */
  readonly fwEnvConfig: string;

  private constructor(dir: string, kit: BundleKit, slotPaths: Record<string, string>, envKind: 'grub' | 'fw-tool' = 'grub') {
    this.dir = dir;
    this.root = join(dir, 'root');
    this.configPath = join(dir, 'config.json');
    this.envKind = envKind;
    this.envPath = join(this.root, envKind === 'grub' ? 'boot/grubenv' : 'boot/uboot.env');
    this.fwEnvConfig = join(this.root, 'boot/fw_env.config');
    this.bootedFile = join(this.root, 'run/booted-slot');
    this.stateDir = join(this.root, 'state');
    this.kit = kit;
    this.slotPaths = slotPaths;
  }

  /** A node running the old image from committed slot A, slot B marked bad. */
  static async create(opts: NodeOptions): Promise<TestNode> {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-node-'));
    const root = join(dir, 'root');
    const slotPaths = opts.slotPaths ?? { A: join(root, 'slots/a.img'), B: join(root, 'slots/b.img') };
    const node = new TestNode(dir, opts.kit, slotPaths, opts.bootEnv);
    for (const d of ['slots', 'boot', 'run', 'state']) await mkdir(join(root, d), { recursive: true });
    if (!opts.slotPaths) {
      for (const s of SLOTS) {
        await writeFile(slotPaths[s]!, '');
        await truncate(slotPaths[s]!, opts.slotSize);
      }
    }
    // Slot A holds the old image; B holds garbage.
    await copyInto(opts.kit.old.path, slotPaths.A!);
    await fillRandomish(slotPaths.B!, opts.kit.new.size);
    await setSlotRecord(join(node.stateDir, 'update'), 'A', {
      version: 'old',
      release: 1,
      sha256: opts.kit.old.sha256,
      size: opts.kit.old.size,
      installedAt: new Date(0).toISOString(),
      deployment: 'factory',
    });
    const factoryEnv = { BOOT_ORDER: 'A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '0', OUTPOST_A_GOOD: '1' };
    if (node.envKind === 'grub') await createGrubEnvFile(node.envPath, factoryEnv);
    else {
      await writeFile(node.envPath, Buffer.alloc(2 * UBOOT_ENV_SIZE));
      await writeFile(node.fwEnvConfig, `${node.envPath} 0x0 0x${UBOOT_ENV_SIZE.toString(16)}\n${node.envPath} 0x${UBOOT_ENV_SIZE.toString(16)} 0x${UBOOT_ENV_SIZE.toString(16)}\n`);
      await new UbootEnv({ geometry: await readFile(node.fwEnvConfig, 'utf8'), whenInvalid: 'empty' }).update(factoryEnv);
    }
    const config = {
      core: { root, stateDir: '/state' },
      update: {
        slots: SLOTS.map((s) => ({ name: s, class: 'rootfs', path: opts.slotPaths ? slotPaths[s] : `/slots/${s.toLowerCase()}.img`, kind: opts.slotPaths ? 'block' : 'file' })),
        bootEnv: node.envKind === 'grub' ? { kind: 'grub', path: '/boot/grubenv' } : { kind: 'fw_setenv', config: '/boot/fw_env.config' },
        tries: opts.tries ?? 3,
        rebootCommand: opts.rebootCommand ?? [process.execPath, SIM_REBOOT, node.envKind === 'grub' ? node.envPath : node.fwEnvConfig, node.bootedFile],
        healthChecks: (opts.healthChecks ?? []).map(([command, ...args], i) => ({ name: `check${i}`, command, args, timeoutMs: 10_000 })),
        bootedSlot: { source: 'file', path: '/run/booted-slot' },
        checkpointBytes: opts.checkpointBytes ?? 256 << 10,
        checkpointSeconds: 0, // tests count on checkpoints at byte granularity
      },
      bundle: await opts.kit.bundleConfig(root, opts.slotPaths ? '/' : root),
    };
    // A relative core.root would resolve against the config file; ours is absolute, and slot
    // paths of block devices are absolute too, so they are joined to the root only for files.
    if (opts.slotPaths) config.core.root = '/';
    if (opts.slotPaths) {
      config.update.bootEnv.path = node.envPath;
      config.update.bootedSlot.path = node.bootedFile;
      config.core.stateDir = node.stateDir;
    }
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
    await node.reboot();
    return node;
  }

  /** The node's boot env as the bootloader writes it (U-Boot: one copy per write, like saveenv). */
  env(): BootEnv {
    if (this.envKind === 'grub') return new GrubEnv({ path: this.envPath });
    return new UbootEnv({ geometry: readFileSync(this.fwEnvConfig, 'utf8'), writeBoth: false });
  }

  /** Power-cycle: the bootloader picks a slot. */
  async reboot(): Promise<string | null> {
    return (await simulateBoot(this.env(), { bootedSlotFile: this.bootedFile })).booted;
  }

  async booted(): Promise<string | null> {
    return (await readFile(this.bootedFile, 'utf8').catch(() => '')).trim() || null;
  }

  async journal(): Promise<Journal | null> {
    const text = await readFile(join(this.stateDir, 'update/journal.json'), 'utf8').catch(() => null);
    return text === null ? null : validateJournal(JSON.parse(text));
  }

  /** Runs `outpost <args> --config <node config>` as a child process group. */
  cli(args: string[], kill?: KillPlan): Promise<CliRun> {
    return new Promise((resolveRun, reject) => {
      const child = spawn(process.execPath, [join(REPO, 'bin/outpost.js'), ...args, '--config', this.configPath], {
        cwd: REPO,
        // Compiled-code cache shared by every spawned agent: start-up is most of a test's time.
        env: { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let killed = false;
      let pending = '';
      const killGroup = () => {
        if (killed) return;
        killed = true;
        powerCut(child.pid!);
      };
      child.stdout.on('data', (b: Buffer) => {
        stdout += b;
        pending += b;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (kill && !killed && kill.when(line)) {
            if (kill.delayMs <= 0) killGroup();
            else setTimeout(killGroup, kill.delayMs);
            kill = undefined;
          }
        }
      });
      child.stderr.on('data', (b: Buffer) => (stderr += b));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        resolveRun({ code, signal, stdout, stderr, killed });
      });
    });
  }

  /** After a crash: reboot, then `install --resume` until the deployment has an outcome. */
  async settle(maxRuns = 8): Promise<{ journal: Journal; runs: CliRun[] }> {
    const runs: CliRun[] = [];
    for (let i = 0; i < maxRuns; i++) {
      const r = await this.cli(['install', '--resume']);
      runs.push(r);
      const j = await this.journal();
      assert.ok(j, 'journal exists');
      if (j.state === 'committed' || j.state === 'rolled_back' || j.state === 'failed') return { journal: j, runs };
      assert.ok(j.state === 'awaiting_boot' || j.state === 'awaiting_rollback_boot', `resume left ${j.state}: ${r.stderr}`);
    }
    assert.fail(`deployment stuck after ${maxRuns} resumes`);
  }

  /** What a slot holds: 'old', 'new', or null for anything else. */
  async holds(slot: string): Promise<'old' | 'new' | null> {
    const dev = openSlotDevice({ name: slot, slotClass: 'rootfs', path: this.slotPaths[slot]! });
    if ((await dev.digest(this.kit.new.size)) === this.kit.new.sha256) return 'new';
    if ((await dev.digest(this.kit.old.size)) === this.kit.old.sha256) return 'old';
    return null;
  }

  /**
   * The invariants after any crash: the bootloader can only pick slots in BOOT_ORDER, and every
   * one of them holds a fully verified image; a slot marked good holds a verified image.
   */
  async assertBootable(context: string): Promise<void> {
    const vars = await this.env().read();
    const order = (vars.BOOT_ORDER ?? 'A B').split(/\s+/).filter((s) => (SLOTS as readonly string[]).includes(s));
    assert.ok(order.length > 0, `${context}: BOOT_ORDER has a slot`);
    for (const s of order) assert.notEqual(await this.holds(s), null, `${context}: slot ${s} in BOOT_ORDER holds a verified image`);
    for (const s of SLOTS) {
      if (vars[`OUTPOST_${s}_GOOD`] === '1') assert.notEqual(await this.holds(s), null, `${context}: slot ${s} marked good holds a verified image`);
    }
  }

  /**
   * Processes with this node's files on their command line that a power cut missed: alive and
   * without a pending SIGKILL (a killed process may take a moment to be torn down).
   */
  strays(): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(this.dir)) continue;
        const status = readFileSync(`/proc/${name}/status`, 'utf8');
        const field = (k: string) => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
        const killPending = [field('SigPnd'), field('ShdPnd')].some((m) => (BigInt(`0x${m || '0'}`) & 0x100n) !== 0n);
        if (/^[ZX]/.test(field('State')) || killPending) continue;
        out.push(Number(name));
      } catch {
        // exited while scanning
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Kills a process and everything it started, as a power cut would. Commands run by the agent
 * get their own process group (platform/exec.ts), so killing the CLI's group is not enough:
 * freeze the group first (nothing new can be spawned), then kill every descendant and the group.
 */
function powerCut(pid: number): void {
  const signalGroup = (p: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-p, sig);
    } catch {
      // not a group leader, or gone
    }
  };
  signalGroup(pid, 'SIGSTOP');
  const tree = descendants(pid);
  for (const p of tree) signalGroup(p, 'SIGSTOP');
  for (const p of [...descendants(pid), ...tree]) {
    signalGroup(p, 'SIGKILL');
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  signalGroup(pid, 'SIGKILL');
}

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while scanning
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(root);
  return out;
}

async function copyInto(src: string, dst: string): Promise<void> {
  const data = await readFile(src);
  const fh = await open(dst, 'r+');
  try {
    await fh.write(data, 0, data.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fillRandomish(dst: string, length: number): Promise<void> {
  const n = Math.min(length, 1 << 20); // enough to differ from any image
  const fh = await open(dst, 'r+');
  try {
    await fh.write(Buffer.alloc(n, 0xa5), 0, n, 0);
  } finally {
    await fh.close();
  }
}
