// What `outpost install` shows and does for an operator on site: rate and ETA with the progress,
// a connection error at the first failure with the retry plan, and --no-reboot staging.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { formatEta, formatRate, progressPrinter } from '../../../agent/cli/progress.ts';
import { runCli } from '../../support/cli.ts';
import { fileNodeConfig, makeFileNode } from '../../support/file-node.ts';
import { GrubEnv } from '../../../agent/platform/bootenv/grub-env.ts';

const root = await mkdtemp(join(tmpdir(), 'install-ux-'));
after(() => rm(root, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);

test('progress lines carry the rate over recent seconds and an ETA', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b) => (text += b));
  let t = 0;
  const p = progressPrinter({ out, err: new PassThrough(), isTTY: false }, () => t);
  const MiB = 1 << 20;
  p.progress(0, 10 * MiB);
  t = 1000;
  p.progress(MiB, 10 * MiB);
  t = 2000;
  p.progress(2 * MiB, 10 * MiB);
  t = 10_000;
  p.progress(10 * MiB, 10 * MiB);
  assert.deepEqual(text.trimEnd().split('\n'), [
    'written 0% 0.0/10.0 MiB, ETA unknown',
    'written 10% 1.0/10.0 MiB, 1.0 MiB/s, ETA 0:09',
    'written 20% 2.0/10.0 MiB, 1.0 MiB/s, ETA 0:08',
    'written 100% 10.0/10.0 MiB, 1.0 MiB/s',
  ]);
  assert.equal(formatRate(300 * 1024), '300 KiB/s');
  assert.equal(formatEta(3725), '1:02:05');
});

test('a terminal bar is redrawn at most every 100 ms, not per block, and shows the end', () => {
  const out = new PassThrough();
  let writes = 0;
  let last = '';
  out.on('data', (b) => ((writes += 1), (last = String(b))));
  let t = 0;
  const p = progressPrinter({ out, err: new PassThrough(), isTTY: true }, () => t);
  const blocks = 65_536; // 4 KiB blocks of a 256 MiB image, one call each, 1 ms apart
  for (let i = 1; i <= blocks; i++) {
    t = i;
    p.progress(i * 4096, blocks * 4096);
  }
  assert.ok(writes <= blocks / 100 + 2, `${writes} redraws`);
  assert.match(last, /100% 256\.0\/256\.0 MiB, 3\.9 MiB\/s/);
});

async function nodeConfig(name: string, fetch: Record<string, unknown> = {}): Promise<string> {
  const r = join(root, name);
  await makeFileNode(r);
  // Any key: the download fails before anything is verified.
  await writeFile(join(r, 'trust/any.pub'), '{"kty":"OKP","crv":"Ed25519","kid":"any","x":"0WV8QFPS6XLCun2fSWfk7G3sQqoLMKQABoDaPxsyoQE"}');
  const file = join(r, 'config.json');
  await writeFile(file, JSON.stringify({ ...fileNodeConfig(r), fetch }));
  return file;
}

test('a refused connection is reported at the first failure, with the retry plan', { timeout: 120_000 }, async () => {
  // A port that was just free: connecting to it is refused.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const config = await nodeConfig('refused', { retryMaxAttempts: 2, retryBaseMs: 10, retryCapMs: 20 });
  const r = await cli('install', `http://127.0.0.1:${port}/b.bundle`, '--config', config);
  assert.equal(r.code, 1, r.err);
  const lines = r.err.trimEnd().split('\n');
  assert.match(lines[0]!, /^(download|delta fetch) interrupted: E_FETCH_\w+: .*; retry 1 of 2 in \d+\.\d s \(gives up after 2 failed attempts or 30 min without progress;/);
  assert.match(lines.at(-1)!, /^E_FETCH_RETRIES: /);
});

test('--no-reboot stages: written and verified, not armed; --resume arms and reboots', { timeout: 180_000 }, async () => {
  const config = await nodeConfig('stage');
  const r = join(root, 'stage');
  const keys = join(root, 'keys');
  assert.equal((await cli('bundle', 'keygen', '--out', keys, '--id', 'k1')).code, 0);
  await copyFile(join(keys, 'k1.pub'), join(r, 'trust/k1.pub'));
  await writeFile(join(root, 'app.img'), randomBytes(1 << 20));
  const made = await cli('bundle', 'create', '--image', join(root, 'app.img'), '--version', '2.0', '--release', '2', '--compatible', 'board', '--key', join(keys, 'k1.key'), '--out', join(root, 'app.bundle'));
  assert.equal(made.code, 0, made.err);
  const staged = await cli('install', join(root, 'app.bundle'), '--no-reboot', '--config', config);
  assert.equal(staged.code, 0, staged.err);
  assert.match(staged.out, /: staged \(slot written and verified, not armed\)/);
  const env = new GrubEnv({ path: join(r, 'boot/grubenv') });
  assert.equal((await env.read()).BOOT_ORDER, 'A', 'not armed');
  const status = JSON.parse((await cli('status', '--json', '--config', config)).out);
  assert.equal(status.deployment.state, 'awaiting_install_window');
  assert.equal(status.slots.find((s: { name: string }) => s.name === 'B').installed.version, '2.0');
  const now = await cli('install', '--resume', '--config', config);
  assert.equal(now.code, 0, now.err);
  assert.match(now.out, /reboot requested \(awaiting_boot\)/);
  assert.equal((await env.read()).BOOT_ORDER?.split(' ')[0], 'B', 'armed');
});
