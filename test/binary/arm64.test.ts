// The arm64 single binary under qemu user-mode emulation: it must start, report arm64, print the
// same config reference as the x86-64 build, and verify a bundle the x86-64 build signed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_VERSION } from '../../agent/version.ts';
import { ARM64, COMPATIBLE, ROOT, ensureBuilt, explain, makeSignedBundle, runArm64, runX64 } from './helpers.ts';

const PINNED = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version;
let tmp = '';

before(() => {
  ensureBuilt('x64', 'arm64');
  tmp = mkdtempSync(join(tmpdir(), 'outpost-arm64-'));
}, { timeout: 5 * 60_000 });

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the arm64 binary is a stripped aarch64 ELF', () => {
  const h = spawnSync('readelf', ['-h', '-S', '-W', ARM64], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /Machine:\s+AArch64/);
  assert.doesNotMatch(h.stdout, /\.symtab|\.debug_info/);
});

test('--version under qemu names the pinned Node and arm64', () => {
  const r = runArm64(['--version']);
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, `outpost ${AGENT_VERSION} (node ${PINNED}, arm64)\n`);
  assert.equal(r.stderr, '');
});

test('the arm64 binary carries no code cache and runs its program without one', () => {
  const r = runArm64(['--version'], { env: { NODE_DEBUG: 'outpost' } });
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stderr, /^OUTPOST \d+: code cache cli: none in this binary; balancer flags at V8's defaults while loading: yes$/m);
});

test('config --doc is the same on arm64 as on x86-64 (one blob, both runtimes)', () => {
  const arm = runArm64(['config', '--doc']);
  const x64 = runX64(['config', '--doc']);
  assert.equal(arm.code, 0, explain(arm));
  assert.equal(arm.stdout, x64.stdout);
});

test('the arm64 binary verifies a bundle signed by the x86-64 binary, and rejects a tampered one', async (t) => {
  const made = makeSignedBundle(t, tmp);
  if (!made) return;
  const ok = runArm64(['bundle', 'verify', made.bundle, '--trust', made.trust, '--compatible', COMPATIBLE]);
  assert.equal(ok.code, 0, explain(ok));
  const wrong = runArm64(['bundle', 'verify', made.bundle, '--trust', made.trust, '--compatible', 'other-board']);
  assert.notEqual(wrong.code, 0, explain(wrong));
  assert.match(wrong.stderr, /^E_[A-Z0-9_]+: /m);
});
