// create and verify stream: peak memory does not follow the image size. A 320 MiB (sparse) image
// is created and verified in child processes; holding the image would need > 320 MiB on its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrustDir } from '../../support/bundle-fixtures.ts';

const SIZE = 320 * 1024 * 1024;
const LIMIT_MIB = 300; // a child that only loads the code sits near 90 MiB
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-memory-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function child(...args: string[]): { maxRssMiB: number; payloadBytes: number } {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'memory-child.ts'), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test(`create and verify a ${SIZE >> 20} MiB image with peak RSS under ${LIMIT_MIB} MiB`, async () => {
  const image = join(dir, 'sparse.img');
  const fh = await open(image, 'w');
  await fh.truncate(SIZE); // sparse: costs no disk, reads as zeros
  await fh.close();
  const [key] = await makeKeys(join(dir, 'keys'), ['mem']);
  const { dir: trust } = await makeTrustDir(join(dir, 'trust'), [key!]);
  const bundle = join(dir, 'b.bundle');
  const created = child('create', image, bundle, key!.privatePath);
  assert.ok(created.maxRssMiB < LIMIT_MIB, `create peaked at ${created.maxRssMiB.toFixed(0)} MiB`);
  const verified = child('verify', bundle, trust);
  assert.equal(verified.payloadBytes, SIZE);
  assert.ok(verified.maxRssMiB < LIMIT_MIB, `verify peaked at ${verified.maxRssMiB.toFixed(0)} MiB`);
});
