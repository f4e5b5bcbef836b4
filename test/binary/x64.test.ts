// The built x86-64 single binary, run as an operator would: version, config reference, the
// shipped default config, and the bundle and install flows once those commands exist.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../agent/main.ts';
import { AGENT_VERSION } from '../../agent/version.ts';
import { COMPATIBLE, ROOT, X64, ensureBuilt, explain, makeSignedBundle, notBuiltYet, runX64 } from './helpers.ts';

const PINNED = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version;
let tmp = '';

before(() => {
  ensureBuilt('x64');
  tmp = mkdtempSync(join(tmpdir(), 'outpost-bin-'));
}, { timeout: 5 * 60_000 });

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** What the source tree's CLI prints, for comparison with the binary. */
async function fromSource(args: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  err.resume();
  const code = await main(args, { out, err, isTTY: false });
  return { code, out: Buffer.concat(chunks).toString('utf8') };
}

test('--version names the agent, the pinned Node and the architecture', () => {
  const r = runX64(['--version']);
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, `outpost ${AGENT_VERSION} (node ${PINNED}, x64)\n`);
  assert.equal(r.stderr, '', 'no experimental-feature warning or other noise on stderr');
});

test('the code cache is accepted: it was made under the flags the binary runs with', () => {
  const r = runX64(['status', '--config', join(tmp, 'missing.json')]);
  assert.doesNotMatch(r.stderr, /Code cache data rejected/);
  assert.match(r.stderr, /^E_CONFIG: /);
});

test('each group of commands starts from its own trained code cache, and V8 accepts it', () => {
  // NODE_DEBUG=outpost: the binary's main says which cache it gave V8 and what V8 made of it
  const cases: Array<[args: string[], mode: string]> = [
    [['--version'], 'cli'], [['config', '--doc'], 'cli'], [['bundle', '--help'], 'bundle'],
    [['install', '--help'], 'install-file'], [['install', 'http://127.0.0.1:9/b', '--help'], 'cli'],
    [['status', '--config', join(tmp, 'missing.json')], 'status'],
  ];
  for (const [args, mode] of cases) {
    const r = runX64(args, { env: { NODE_DEBUG: 'outpost' } });
    assert.match(r.stderr, new RegExp(`^OUTPOST \\d+: code cache ${mode}: accepted; balancer flags at V8's defaults while loading: yes$`, 'm'), `${args.join(' ')}: ${explain(r)}`);
  }
  // A flag V8 hashes, added through NODE_OPTIONS: the cache is refused and the program still runs.
  const r = runX64(['--version'], { env: { NODE_DEBUG: 'outpost', NODE_OPTIONS: '--interpreted-frames-native-stack' } });
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, `outpost ${AGENT_VERSION} (node ${PINNED}, x64)\n`);
  assert.match(r.stderr, /code cache cli: rejected by V8, compiled from source/);
});

test('it is a single executable, not a plain node: node flags are agent arguments', () => {
  // A plain node would evaluate the expression and print 3; the SEA hands "-p" to the agent's CLI.
  const r = runX64(['-p', '1+2']);
  assert.equal(r.code, 2, explain(r));
  assert.match(r.stderr, /^E_USAGE: unknown option "-p"/);
});

test('the binary is stripped and smaller than the runtime it came from', () => {
  const sections = spawnSync('readelf', ['-S', '-W', X64], { encoding: 'utf8' });
  assert.equal(sections.status, 0, sections.stderr);
  assert.doesNotMatch(sections.stdout, /\.symtab|\.debug_info/);
  assert.match(sections.stdout, /\.note/, 'the SEA blob lives in an ELF note');
  assert.ok(statSync(X64).size < statSync(join(ROOT, 'node_modules', 'node', 'bin', 'node')).size);
});

test('config --doc in the binary equals the source tree and covers every section', async () => {
  const r = runX64(['config', '--doc']);
  assert.equal(r.code, 0, explain(r));
  const src = await fromSource(['config', '--doc']);
  assert.equal(src.code, 0);
  assert.equal(r.stdout, src.out);
  for (const section of ['core', 'update', 'bundle', 'fetch', 'hub', 'inventory', 'location']) {
    assert.match(r.stdout, new RegExp(`### \`${section}\``));
  }
});

test('the shipped default config (packaging/config.json) is valid for this agent', () => {
  // Its slots and boot env are a device's, not this machine's: the keys and values only.
  const r = runX64(['config', '--schema-only', '--config', join(ROOT, 'packaging', 'config.json')]);
  assert.equal(r.code, 0, explain(r));
  const cfg = JSON.parse(r.stdout) as { core: { root: string; stateDir: string } };
  assert.equal(cfg.core.root, '/');
  assert.equal(cfg.core.stateDir, '/var/lib/outpost');
});

test('a broken config fails with E_CONFIG and exit 1, not a stack trace', () => {
  const file = join(tmp, 'broken.json');
  writeFileSync(file, '{"core": {"logLevel": "loud"}}');
  const r = runX64(['config', '--config', file]);
  assert.equal(r.code, 1, explain(r));
  assert.match(r.stderr, /^E_CONFIG: /);
});

test('bundle keygen, create and verify through the binary', async (t) => {
  const made = makeSignedBundle(t, tmp);
  if (!made) return;
  const { bundle, trust } = made;
  const ok = runX64(['bundle', 'verify', bundle, '--trust', trust, '--compatible', COMPATIBLE]);
  assert.equal(ok.code, 0, explain(ok));

  await t.test('a flipped payload byte is rejected with a stable code', () => {
    const bad = join(tmp, 'flipped.bundle');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 4096] ^= 0x01; // inside the payload, well after the manifest
    writeFileSync(bad, bytes);
    const r = runX64(['bundle', 'verify', bad, '--trust', trust, '--compatible', COMPATIBLE]);
    assert.notEqual(r.code, 0, explain(r));
    assert.match(r.stderr, /^E_[A-Z0-9_]+: /m);
  });

  await t.test('a wrong compatible string is rejected', () => {
    const r = runX64(['bundle', 'verify', bundle, '--trust', trust, '--compatible', 'other-board']);
    assert.notEqual(r.code, 0, explain(r));
    assert.match(r.stderr, /^E_[A-Z0-9_]+: /m);
  });
});

/**
 * A node on file-backed A/B slots: GRUB env made by the real grub-editenv, slot A booted and
 * good, and the test bootloader simulator as reboot command (it picks the next slot like the
 * shipped GRUB script does and records which one "booted").
 */
function fileSlotNode(dir: string, trust: string): { config: string; grubenv: string; booted: string; slotB: string } {
  const root = join(dir, 'node');
  for (const d of ['slots', 'boot', 'run', 'state']) mkdirSync(join(root, d), { recursive: true });
  for (const s of ['a', 'b']) writeFileSync(join(root, `slots/${s}.img`), Buffer.alloc(4 << 20));
  const grubenv = join(root, 'boot/grubenv');
  for (const args of [['create'], ['set', 'BOOT_ORDER=A', 'BOOT_A_LEFT=3', 'BOOT_B_LEFT=0', 'OUTPOST_A_GOOD=1']]) {
    const r = spawnSync('grub-editenv', [grubenv, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, `grub-editenv (Debian grub-common): ${r.stderr}`);
  }
  const booted = join(root, 'run/booted-slot');
  writeFileSync(booted, 'A\n');
  const config = join(dir, 'node.json');
  writeFileSync(
    config,
    JSON.stringify({
      core: { root, stateDir: '/state' },
      update: {
        slots: ['A', 'B'].map((n) => ({ name: n, class: 'rootfs', path: `/slots/${n.toLowerCase()}.img`, kind: 'file' })),
        bootEnv: { kind: 'grub', path: '/boot/grubenv' },
        rebootCommand: [process.execPath, join(ROOT, 'test/support/sim-reboot.ts'), grubenv, booted],
        bootedSlot: { source: 'file', path: '/run/booted-slot' },
      },
      bundle: { trustStore: trust, floorFile: '/state/release-floor', compatible: [COMPATIBLE] },
    }),
  );
  return { config, grubenv, booted, slotB: join(root, 'slots/b.img') };
}

test('local install into file slots, reboot, commit and status, through the binary', async (t) => {
  const probe = runX64(['install', '--help']);
  if (notBuiltYet(t, probe, 'outpost install')) return;
  const dir = join(tmp, 'install');
  mkdirSync(dir);
  const made = makeSignedBundle(t, dir, 9);
  if (!made) return;
  // Trust paths in the node config are joined to core.root: give it the store inside the root.
  const node = fileSlotNode(dir, '/trust');
  cpSync(made.trust, join(dir, 'node', 'trust'), { recursive: true });

  const install = runX64(['install', made.bundle, '--config', node.config]);
  assert.equal(install.code, 0, explain(install));
  assert.match(install.stdout, /reboot requested/);
  assert.equal(readFileSync(node.booted, 'utf8').trim(), 'B', 'the simulated bootloader tried the new slot');

  const resume = runX64(['install', '--resume', '--config', node.config]);
  assert.equal(resume.code, 0, explain(resume));
  assert.match(resume.stdout, /committed/);

  // The new slot holds the image byte for byte, and GRUB's own tool reads the committed env.
  const image = readFileSync(made.image);
  assert.ok(readFileSync(node.slotB).subarray(0, image.length).equals(image));
  const env = spawnSync('grub-editenv', [node.grubenv, 'list'], { encoding: 'utf8' });
  assert.match(env.stdout, /^BOOT_ORDER=B A$/m);
  assert.match(env.stdout, /^OUTPOST_B_GOOD=1$/m);

  const status = runX64(['status', '--json', '--config', node.config]);
  assert.equal(status.code, 0, explain(status));
  const s = JSON.parse(status.stdout) as {
    booted: string;
    primary: string;
    deployment: { outcome: string } | null;
    slots: Array<{ name: string; good: boolean; installed: { version: string; release: number } | null }>;
  };
  assert.equal(s.booted, 'B');
  assert.equal(s.primary, 'B');
  assert.equal(s.deployment?.outcome, 'committed');
  const b = s.slots.find((x) => x.name === 'B');
  assert.deepEqual([b?.good, b?.installed?.version, b?.installed?.release], [true, '1.0.9', 9]);

  await t.test('after the commit a lower release is refused by the raised anti-rollback floor', () => {
    const older = makeOlder(dir, made.priv, 8);
    const r = runX64(['install', older, '--config', node.config]);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /^E_BUNDLE_ROLLBACK: /m);
    assert.equal(readFileSync(node.booted, 'utf8').trim(), 'B', 'no reboot was requested');
  });
});

/** A validly signed bundle with a lower release number (rolled-back software). */
function makeOlder(dir: string, priv: string, release: number): string {
  const image = join(dir, 'older.img');
  writeFileSync(image, Buffer.alloc(1 << 20, 7));
  const out = join(dir, `older-${release}.bundle`);
  const r = runX64([
    'bundle', 'create', '--image', image, '--version', `1.0.${release}`, '--release', String(release),
    '--compatible', COMPATIBLE, '--key', priv, '--out', out,
  ]);
  assert.equal(r.code, 0, explain(r));
  return out;
}
