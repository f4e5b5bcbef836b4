// Broken configs, one problem each: `outpost config` names it with its own stable code, and
// `outpost run` reports the same code without a crash — it refuses to start on a fatal problem
// (exit 1, one stderr line) or starts degraded and logs it (trust store, floor, commands,
// booted slot: the node stays reachable). Never E_INTERNAL, never a stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeKeyPair } from '../../../agent/bundle/key-files.ts';
import { runCli } from '../../support/cli.ts';
import { fileNodeConfig, makeFileNode } from '../../support/file-node.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
let base = '';
let n = 0;

type Json = Record<string, any>;
/** A working node: file slots A/B, a GRUB env, slot A booted, a .pub trust store, no hub. */
function goodConfig(root: string): Json {
  const c = fileNodeConfig(root, 'board-1');
  return { ...c, core: { ...c.core, logLevel: 'info' }, inventory: { scriptsDir: null } };
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'broken-configs-'));
  const root = join(base, 'template');
  await makeFileNode(root, { slotBytes: 1 << 20 });
  const k = await writeKeyPair(join(base, 'keys'), 'ci-1');
  await cp(k.publicPath, join(root, 'trust/ci-1.pub'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A copy of the good node, broken by `breakIt`; returns the config file. */
async function node(breakIt: (c: Json, root: string) => Promise<void> | void): Promise<string> {
  const root = join(base, `node-${n++}`);
  await cp(join(base, 'template'), root, { recursive: true });
  const c = goodConfig(root);
  await breakIt(c, root);
  const file = join(root, 'config.json');
  await writeFile(file, JSON.stringify(c, null, 2));
  return file;
}

const cli = runCli;

/** `outpost run`: its exit (fatal) or, while it runs degraded, the log line carrying `code`. */
function run(file: string, code: string): Promise<{ exit: number | null; err: string; logged: boolean }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let logged = false;
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      fail(new Error(`outpost run neither exited nor logged ${code} in 90 s:\n${out}\n${err}`));
    }, 90_000);
    p.stdout.on('data', (b: Buffer) => {
      out += b;
      if (!logged && out.split('\n').some((l) => l.includes(`"code":"${code}"`))) {
        logged = true;
        p.kill('SIGTERM');
      }
    });
    p.stderr.on('data', (b: Buffer) => (err += b));
    p.on('exit', (exit) => {
      clearTimeout(timer);
      done({ exit: logged ? null : exit, err: err + (logged ? '' : out), logged });
    });
  });
}

const CASES: Array<[string, string, 'fatal' | 'degraded' | 'warning', (c: Json, root: string) => Promise<void> | void]> = [
  ['unknown key', 'E_CONFIG', 'fatal', (c) => void (c.core.stateDri = '/x')],
  ['hub.url is not a URL', 'E_HUB_URL', 'fatal', (c) => void (c.hub = { url: 'not a url' })],
  ['hub client certificate without its key', 'E_HUB_TLS_FILE', 'fatal', (c, root) => void (c.hub = { url: 'wss://hub.example/agent', certFile: join(root, 'trust/ci-1.pub') })],
  ['hub.proxy is not http://', 'E_HUB_PROXY_URL', 'fatal', (c) => void (c.hub = { url: 'wss://hub.example/agent', proxy: 'socks5://proxy:1080' })],
  ['fetch.proxy is not a URL', 'E_FETCH_PROXY_URL', 'fatal', (c) => void (c.fetch = { proxy: 'proxy here' })],
  ['fetch.caFile missing', 'E_FETCH_TLS_CONFIG', 'fatal', (c) => void (c.fetch = { caFile: '/etc/ssl/no-such-ca.pem' })],
  ['stateDir is a file', 'E_STATE_DIR', 'fatal', async (c, root) => {
    c.core.stateDir = '/statefile';
    await writeFile(join(root, 'statefile'), 'x');
  }],
  ['a slot file is missing', 'E_SLOT_OPEN', 'fatal', async (_c, root) => rm(join(root, 'slots/b.img'))],
  ['A and B differ in size', 'E_SLOT_SIZE', 'fatal', async (_c, root) => truncate(join(root, 'slots/b.img'), 4096)],
  ['A and B are the same file', 'E_SLOT_SAME', 'fatal', (c) => void (c.update.slots[1].path = '/slots/a.img')],
  ['the boot env is missing', 'E_BOOTENV_MISSING', 'fatal', async (_c, root) => rm(join(root, 'boot/grubenv'))],
  ['the boot env is truncated', 'E_BOOTENV_SIZE', 'fatal', async (_c, root) => truncate(join(root, 'boot/grubenv'), 100)],
  ['the fw_env.config is missing', 'E_BOOTENV_CONFIG', 'fatal', (c) => void (c.update.bootEnv = { kind: 'uboot', config: '/etc/fw_env.config' })],
  ['the booted slot is none of the slots', 'E_BOOTED_SLOT', 'degraded', async (_c, root) => writeFile(join(root, 'run/booted-slot'), 'C\n')],
  ['a health check command does not exist', 'E_CONFIG_COMMAND', 'degraded', (c) => void (c.update.healthChecks = [{ name: 'app', command: '/opt/app/no-such-check' }])],
  ['the trust store is empty', 'E_TRUST_READ', 'degraded', async (_c, root) => rm(join(root, 'trust/ci-1.pub'))],
  ['root.json is not a trust document', 'E_TRUST_FORMAT', 'degraded', async (_c, root) => writeFile(join(root, 'trust/root.json'), '{"format": 1}')],
  ['the floor file is corrupt', 'E_FLOOR_CORRUPT', 'degraded', async (_c, root) => writeFile(join(root, 'state/release-floor'), 'forty-two\n')],
  ['no compatible string', 'W_COMPATIBLE_EMPTY', 'warning', (c) => void (c.bundle.compatible = [])],
];

test('the good config passes outpost config with no problem', async () => {
  const r = await cli(['config', '--config', await node(() => {})]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.equal(JSON.parse(r.out).update.slots.length, 2);
});

test(`${CASES.length} broken configs, ${new Set(CASES.map((c) => c[1])).size} codes: each is the first line of outpost config`, () => {
  assert.ok(CASES.length >= 15 && new Set(CASES.map((c) => c[1])).size === CASES.length, 'one code per broken config');
});

// Checked with `run`'s checks rather than the schema, so other commands do not load node-cron.
test('a bad inventory.schedule: E_CONFIG from outpost config and outpost run; status still works', { timeout: 180_000 }, async () => {
  const file = await node((c) => void (c.inventory = { ...c.inventory, schedule: '0 25 * * *' }));
  const checked = await cli(['config', '--config', file]);
  assert.equal(checked.code, 1, checked.err);
  assert.match(checked.err, /^E_CONFIG: config inventory\.schedule: not a valid cron expression: "0 25 \* \* \*"\n/);
  const ran = await run(file, 'E_CONFIG');
  assert.equal(ran.exit, 1, ran.err);
  assert.match(ran.err, /^E_CONFIG: [^\n]+\n$/);
  assert.equal((await cli(['status', '--config', file])).code, 0);
});

for (const [what, code, severity, breakIt] of CASES) {
  test(`${what}: ${code} from outpost config and from outpost run (${severity})`, { timeout: 180_000 }, async () => {
    const file = await node(breakIt);
    const checked = await cli(['config', '--config', file]);
    assert.equal(checked.code, severity === 'warning' ? 0 : 1, checked.err);
    assert.equal(checked.err.split('\n')[0]!.split(':')[0], code, checked.err);
    assert.equal(checked.err.trimEnd().split('\n').length, 1, `exactly one problem:\n${checked.err}`);
    const ran = await run(file, code);
    assert.doesNotMatch(ran.err, /E_INTERNAL|\n\s+at /);
    if (severity === 'fatal') {
      assert.equal(ran.exit, 1, ran.err);
      assert.match(ran.err, new RegExp(`^${code}: [^\\n]+\\n$`));
    } else {
      assert.ok(ran.logged, `outpost run keeps running and logs ${code}`);
    }
  });
}
