// Anti-rollback floor: missing is 0, only rises, never silently resets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raiseReleaseFloor, readReleaseFloor } from '../../../agent/bundle/release-floor.ts';
import { isOutpostError } from '../../../shared/errors.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-floor-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('missing floor is 0; raising writes it; lowering is refused and changes nothing', async () => {
  const f = join(dir, 'sub', 'floor');
  assert.equal(await readReleaseFloor(f), 0);
  assert.equal(await raiseReleaseFloor(f, 7), 7);
  assert.equal(await readFile(f, 'utf8'), '7\n');
  assert.equal(await raiseReleaseFloor(f, 7), 7); // same release: fine
  await assert.rejects(raiseReleaseFloor(f, 6), (e) => isOutpostError(e, 'E_FLOOR_LOWER'));
  assert.equal(await readReleaseFloor(f), 7);
  await assert.rejects(raiseReleaseFloor(f, -1), (e) => isOutpostError(e, 'E_FLOOR_VALUE'));
  await assert.rejects(raiseReleaseFloor(f, 1.5), (e) => isOutpostError(e, 'E_FLOOR_VALUE'));
  assert.deepEqual(await readdir(join(dir, 'sub')), ['floor']); // no temp files left behind
});

test('concurrent raises end at the highest, never lower', async () => {
  const f = join(dir, 'concurrent');
  const results = await Promise.allSettled([5, 9, 3, 8, 12, 1].map((n) => raiseReleaseFloor(f, n)));
  assert.equal(await readReleaseFloor(f), 12);
  // every refusal was a lowering attempt, reported as such
  for (const r of results) if (r.status === 'rejected') assert.ok(isOutpostError(r.reason, 'E_FLOOR_LOWER'));
});

test('a corrupt floor file is an error, never 0', async () => {
  const f = join(dir, 'corrupt');
  for (const text of ['', 'abc\n', '12x\n', '-3\n', '1\n2\n']) {
    await writeFile(f, text);
    await assert.rejects(readReleaseFloor(f), (e) => isOutpostError(e, 'E_FLOOR_CORRUPT'), JSON.stringify(text));
    await assert.rejects(raiseReleaseFloor(f, 100), (e) => isOutpostError(e, 'E_FLOOR_CORRUPT'));
  }
});
