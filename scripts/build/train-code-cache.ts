// Makes one of the agent binary's V8 code caches by running the program (program-script.ts says
// why, and which command lines start from which cache):
//   node <the binary's runtime flags> scripts/build/train-code-cache.ts MODE PROGRAM OUT WORKDIR
// (PROGRAM: the wrapped bundle the binary carries, dist/outpost-program.js).
// The build runs it once per mode, in the order of CACHE_MODES, with the pinned Node and
// RUNTIME_FLAGS (V8 refuses a cache made under other flags). What each mode runs is in STEPS:
// bundle makes the key, the image and the bundles in WORKDIR that the installs use; each install goes
// into a throwaway node with file slots; status reads those nodes. Every command runs through the
// program's own main() on a fresh instance of the program, as each command is a process of its
// own on a node: code that ran once, long ago (a module's set-up), is what V8 would otherwise
// have dropped from the cache by the end (bytecode flushing). A command that fails fails the build.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, truncate, writeFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { OutpostError } from '../../shared/errors.ts';
import { createGrubEnvFile } from '../../agent/platform/bootenv/grub-env.ts';
import { setSlotRecord } from '../../agent/update/slot-records.ts';
import { compileProgram, runProgram, type CacheMode } from './program-script.ts';
import { defaultFlagsWhileLoading } from './loading-flags.ts';

const MiB = 1 << 20;
const COMPATIBLE = 'code-cache-training';

/** The binary's require: built-ins only (what a SEA main gets). */
function builtinsOnly(from: string): NodeJS.Require {
  const req = createRequire(from);
  return Object.assign((id: string) => {
    if (!isBuiltin(id)) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    return req(id) as unknown;
  }, req) as NodeJS.Require;
}

/** A node as an installer leaves it: empty file slots (A running), GRUB env, trust store. */
async function trainingNode(dir: string, trustRoot: string, slotBytes: number): Promise<string> {
  for (const d of ['slots', 'boot', 'run', 'state/update', 'etc/outpost/trust']) await mkdir(join(dir, d), { recursive: true });
  for (const s of ['a', 'b']) {
    await writeFile(join(dir, `slots/${s}.img`), '');
    await truncate(join(dir, `slots/${s}.img`), slotBytes);
  }
  await setSlotRecord(join(dir, 'state/update'), 'A', {
    version: '1', release: 1, size: 0, sha256: createHash('sha256').digest('hex'), installedAt: new Date(0).toISOString(), deployment: 'factory',
  });
  await createGrubEnvFile(join(dir, 'boot/grubenv'), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '0', OUTPOST_A_GOOD: '1' });
  await writeFile(join(dir, 'run/booted-slot'), 'A\n');
  await copyFile(trustRoot, join(dir, 'etc/outpost/trust/root.json'));
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({
    core: { root: dir, stateDir: '/state' },
    update: {
      slots: ['A', 'B'].map((name) => ({ name, class: 'rootfs', path: `/slots/${name.toLowerCase()}.img`, kind: 'file' })),
      bootEnv: { kind: 'grub', path: '/boot/grubenv' },
      bootedSlot: { source: 'file', path: '/run/booted-slot' },
      rebootCommand: [process.execPath, '-e', '0'],
    },
    bundle: { trustStore: '/etc/outpost/trust', floorFile: '/state/release-floor', compatible: [COMPATIBLE] },
  }));
  return config;
}

/** An image like a root filesystem's: a compressible part (format 2 decodes it) and a random one. */
function trainingImage(): Buffer {
  const text = Buffer.from('usr/lib/outpost: a line of a text file that compresses well\n'.repeat(20_000)).subarray(0, MiB);
  return Buffer.concat([text, randomBytes(3 * MiB + 1000)]);
}

/** What each mode runs. */
const STEPS: Record<CacheMode, (cli: Cli, dir: string) => Promise<void>> = {
  async bundle(cli, dir) {
    await cli('bundle', 'keygen', '--out', join(dir, 'keys'), '--id', 'k1');
    await writeFile(join(dir, 'new.img'), trainingImage());
    const create = ['bundle', 'create', '--image', join(dir, 'new.img'), '--version', '2', '--release', '2', '--compatible', COMPATIBLE, '--key', join(dir, 'keys/k1.key')];
    await cli(...create, '--out', join(dir, 'new-2.bundle'));
    await cli(...create, '--format', '1', '--block-size', '64K', '--out', join(dir, 'new-1.bundle'));
    await cli('bundle', 'trust', 'init', '--key', join(dir, 'keys/k1.pub'), '--out', join(dir, 'root.json'));
    await cli('bundle', 'verify', join(dir, 'new-2.bundle'), '--trust', join(dir, 'root.json'));
    await cli('bundle', 'inspect', join(dir, 'new-1.bundle'));
  },
  async 'install-file'(cli, dir) {
    for (const [k, format] of ['2', '1'].entries()) {
      await cli('install', join(dir, `new-${format}.bundle`), '--config', await trainingNode(join(dir, `node-${k}`), join(dir, 'root.json'), slotBytes(dir)));
    }
  },
  async status(cli, dir) {
    const fresh = await trainingNode(join(dir, 'node-fresh'), join(dir, 'root.json'), MiB);
    for (const config of [fresh, join(dir, 'node-0/config.json'), join(dir, 'node-1/config.json')]) {
      await cli('status', '--config', config);
      await cli('status', '--json', '--config', config);
    }
  },
  async cli(cli, dir) {
    await cli('--version');
    await cli('--help');
    await cli('config', '--config', join(dir, 'node-fresh/config.json'));
  },
};

type Cli = (...argv: string[]) => Promise<void>;

const slotBytes = (dir: string) => statSync(join(dir, 'new.img')).size + MiB;

async function train(mode: CacheMode, programFile: string, out: string, dir: string): Promise<void> {
  const { script } = compileProgram(readFileSync(programFile, 'utf8'));
  const req = builtinsOnly(programFile);
  const cli: Cli = async (...argv) => {
    let said = '';
    const sink = () => new Writable({ write: (chunk: Buffer, _enc, done) => ((said = (said + String(chunk)).slice(-4000)), done()) });
    const code = await runProgram(script, programFile, req).main(argv, { out: sink(), err: sink(), isTTY: false });
    if (code !== 0) throw new OutpostError('E_BUILD_STEP', `code-cache training: outpost ${argv.join(' ')} exited ${code}:\n${said}`);
  };
  await STEPS[mode](cli, dir);
  // The binary compiles its program while the balancer's flags are at V8's defaults, and V8 checks
  // the flags a cache was made under: make it under those.
  defaultFlagsWhileLoading();
  writeFileSync(out, script.createCachedData());
}

const [mode, programFile, out, dir] = process.argv.slice(2);
if (!mode || !Object.hasOwn(STEPS, mode) || !programFile || !out || !dir) throw new OutpostError('E_USAGE', `usage: train-code-cache.ts ${Object.keys(STEPS).join('|')} PROGRAM OUT WORKDIR`);
await train(mode as CacheMode, resolve(programFile), out, dir);
