// `outpost bundle …` end to end through the real CLI entry (in process, plus one real process).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../agent/main.ts';
import { makeImage } from '../../support/bundle-fixtures.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-bundle-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sink() {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { w, text: () => text };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['bundle', ...args], { out: out.w, err: err.w, isTTY: false });
  return { code, out: out.text(), err: err.text() };
}

/** One "E_CODE: message" line; a usage error adds one hint line naming the help to read. */
function oneErrorLine(r: { code: number; err: string }, code: string): void {
  assert.notEqual(r.code, 0);
  const hint = code === 'E_USAGE' ? 'hint: see `outpost bundle[a-z ]* --help`\\n' : '';
  assert.match(r.err, new RegExp(`^${code}: [^\\n]+\\n${hint}$`), r.err);
}

test('keygen → create → verify → sign (2 of 2) → inspect, with trust documents', async () => {
  const keys = join(dir, 'keys');
  assert.equal((await cli('keygen', '--out', keys, '--id', 'ci-a')).code, 0);
  assert.equal((await cli('keygen', '--out', keys, '--id', 'ci-b')).code, 0);
  assert.equal((await stat(join(keys, 'ci-a.key'))).mode & 0o777, 0o600);
  oneErrorLine(await cli('keygen', '--out', keys, '--id', 'ci-a'), 'E_KEY_EXISTS');

  const trust1 = join(dir, 'trust-1of1');
  await mkdir(trust1);
  await copyFile(join(keys, 'ci-a.pub'), join(trust1, 'ci-a.pub'));
  const trust2 = join(dir, 'trust-2of2.json');
  const init = await cli('trust', 'init', '--key', join(keys, 'ci-a.pub'), '--key', join(keys, 'ci-b.pub'), '--threshold', '2', '--out', trust2);
  assert.equal(init.code, 0, init.err);

  const image = await makeImage(join(dir, 'rootfs.img'), 300_000, 9);
  const bundle = join(dir, 'r3.bundle');
  const created = await cli('create', '--image', image, '--version', '2026.11.1', '--release', '3', '--compatible', 'board-a',
    '--compatible', 'board-b', '--key', join(keys, 'ci-a.key'), '--out', bundle, '--block-size', '64K');
  assert.equal(created.code, 0, created.err);

  const ok = await cli('verify', bundle, '--trust', trust1, '--compatible', 'board-b', '--floor', '3');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^OK .*release 3.*signed by ci-a/);
  oneErrorLine(await cli('verify', bundle, '--trust', trust1, '--compatible', 'board-c'), 'E_BUNDLE_INCOMPATIBLE');
  oneErrorLine(await cli('verify', bundle, '--trust', trust1, '--floor', '4'), 'E_BUNDLE_ROLLBACK');
  oneErrorLine(await cli('verify', bundle, '--trust', trust2), 'E_BUNDLE_THRESHOLD');

  const before = await readFile(bundle);
  assert.equal((await cli('sign', bundle, '--key', join(keys, 'ci-b.key'))).code, 0);
  const afterSign = await readFile(bundle);
  assert.equal(afterSign.length, before.length);
  const layout = JSON.parse((await cli('inspect', bundle, '--layout')).out);
  // only the signatures entry changed: every payload byte kept its offset
  assert.ok(afterSign.subarray(layout.payloads[0].dataOffset).equals(before.subarray(layout.payloads[0].dataOffset)));
  assert.deepEqual(layout.signatureKeyIds, ['ci-a', 'ci-b']);
  const ok2 = await cli('verify', bundle, '--trust', trust2);
  assert.equal(ok2.code, 0, ok2.err);
  assert.match(ok2.out, /signed by ci-a, ci-b/);

  const manifest = JSON.parse((await cli('inspect', bundle)).out);
  assert.equal(manifest.release, 3);
  assert.deepEqual(manifest.compatible, ['board-a', 'board-b']);
  assert.equal(manifest.payloads[0].blockSize, 65536);
});

test('trust rotate: signed by the old threshold, followed by loading the trust directory', async () => {
  const keys = join(dir, 'rot-keys');
  for (const id of ['old-1', 'old-2', 'new-1']) assert.equal((await cli('keygen', '--out', keys, '--id', id)).code, 0);
  const tdir = join(dir, 'rot-trust');
  await mkdir(tdir);
  const root = join(tdir, 'root.json');
  assert.equal((await cli('trust', 'init', '--key', join(keys, 'old-1.pub'), '--key', join(keys, 'old-2.pub'), '--threshold', '2', '--out', root)).code, 0);
  const next = join(dir, 'rotation-2.json');
  const r = await cli('trust', 'rotate', '--from', tdir, '--key', join(keys, 'new-1.pub'), '--revoke', 'old-2', '--sign', join(keys, 'old-1.key'), '--out', next);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /not yet accepted/);
  // one of two signatures: a node refuses to load it
  await copyFile(next, join(tdir, 'rotation-2.json'));
  oneErrorLine(await cli('trust', 'show', tdir), 'E_TRUST_ROTATION');
  assert.equal((await cli('trust', 'sign', next, '--key', join(keys, 'old-2.key'))).code, 0);
  await copyFile(next, join(tdir, 'rotation-2.json'));
  const show = await cli('trust', 'show', tdir);
  assert.equal(show.code, 0, show.err);
  const s = JSON.parse(show.out);
  assert.equal(s.version, 2);
  assert.deepEqual(s.keys.map((k: { id: string }) => k.id), ['new-1']);
  assert.deepEqual(s.revoked, ['old-2']);
});

test('usage errors exit 2 with E_USAGE; a missing file is E_BUNDLE_READ', async () => {
  oneErrorLine(await cli('create', '--image', 'x'), 'E_USAGE');
  oneErrorLine(await cli('create', '--image', 'x', '--version', '1', '--release', '1', '--compatible', 'b', '--key', join(dir, 'keys', 'ci-a.key'), '--out', join(dir, 'o'), '--block-size', '96K'), 'E_USAGE');
  oneErrorLine(await cli('create', '--image', 'x', '--version', '1', '--release', '-1', '--compatible', 'b', '--key', join(dir, 'keys', 'ci-a.key'), '--out', join(dir, 'o')), 'E_USAGE');
  assert.equal((await cli('create', '--image', 'x')).code, 2);
  oneErrorLine(await cli('verify', join(dir, 'b'), '--trust', dir, '--bogus'), 'E_USAGE');
  oneErrorLine(await cli('frobnicate'), 'E_USAGE');
  await writeFile(join(dir, 'only.pub'), '{"kty":"OKP","crv":"Ed25519","kid":"x","x":"0WV8QFPS6XLCun2fSWfk7G3sQqoLMKQABoDaPxsyoQE"}');
  oneErrorLine(await cli('verify', join(dir, 'missing.bundle'), '--trust', join(dir, 'only.pub')), 'E_BUNDLE_READ');
});

test('the real process: exit status and exactly one stderr line', () => {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'bin/outpost.js'), 'bundle', 'verify', join(dir, 'nope.bundle'), '--trust', join(dir, 'only.pub')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^E_BUNDLE_READ: [^\n]+\n$/);
});

test('create writes format 2 by default and format 1 with --format 1; both verify', async () => {
  const keys = join(dir, 'keys-fmt');
  assert.equal((await cli('keygen', '--out', keys, '--id', 'f')).code, 0);
  const image = await makeImage(join(dir, 'fmt.img'), 200_000, 4);
  for (const [flags, format] of [[[], 2], [['--format', '1'], 1], [['--format', '2', '--block-size', '8K', '--group-blocks', '4'], 2]] as const) {
    const out = join(dir, `fmt-${format}-${flags.length}.bundle`);
    const r = await cli('create', '--image', image, '--version', '1', '--release', '1', '--compatible', 'b', '--key', join(keys, 'f.key'), '--out', out, ...flags);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`format ${format}`));
    const manifest = JSON.parse((await readFile(out)).subarray(512, 512 + Number.parseInt((await readFile(out)).subarray(124, 135).toString(), 8)).toString());
    assert.equal(manifest.format, format);
    const ok = await cli('verify', out, '--trust', join(keys, 'f.pub'));
    assert.equal(ok.code, 0, ok.err);
  }
  oneErrorLine(await cli('create', '--image', image, '--version', '1', '--release', '1', '--compatible', 'b', '--key', join(keys, 'f.key'), '--out', join(dir, 'x'), '--format', '3'), 'E_USAGE');
  oneErrorLine(await cli('create', '--image', image, '--version', '1', '--release', '1', '--compatible', 'b', '--key', join(keys, 'f.key'), '--out', join(dir, 'x'), '--format', '1', '--block-size', '4K'), 'E_USAGE');
});
