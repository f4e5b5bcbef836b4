// The sample of the new image's tables that finds the blocks a delta can take at their own
// offsets when no whole group is found locally (agent/fetch/delta/table-sample.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { indexedHits, localShare, sampleGroups, withSameOffsetHits } from '../../../agent/fetch/delta/table-sample.ts';
import { LocalIndex } from '../../../agent/fetch/delta/local-index.ts';
import type { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { indexOfImage, withFiles } from './stored-index-fixture.ts';

const BS = 4096;
const G = 4;
const signal = AbortSignal.timeout(60_000);

/** The share at the same offsets in `files`, as before a scan. */
const sameOffset = (index: StoredIndex, files: Array<{ path: string; length: number }>, tables: ReadonlyMap<number, Buffer>) =>
  withSameOffsetHits(index, files, (hits) => localShare(index, tables, hits, signal));

/** Group g's table of block digests, as the bundle stores it. */
function tableOf(image: Buffer, g: number): Buffer {
  return Buffer.concat(Array.from({ length: G }, (_, k) => createHash('sha256').update(image.subarray((g * G + k) * BS, (g * G + k + 1) * BS)).digest()));
}

test('sampleGroups: distinct whole groups from g0 on, one per stratum; all of them when fewer', () => {
  const index = indexOfImage(randomBytes(101 * G * BS + BS), BS, G); // 102 groups, the last of one block
  let r = 0;
  const random = () => (r = (r * 7 + 3) % 10) / 10;
  const picked = sampleGroups(index, 5, 16, random);
  assert.equal(picked.length, 16);
  assert.deepEqual([...picked].sort((a, b) => a - b), picked, 'in order');
  assert.equal(new Set(picked).size, 16, 'distinct');
  assert.ok(picked.every((g) => g >= 5 && g < 101), `whole groups only: ${picked.join(',')}`);
  const many = sampleGroups(index, 0, 64, Math.random); // 101 whole groups in 64 strata of 1 or 2
  assert.equal(new Set(many).size, 64, `distinct: ${many.join(',')}`);
  assert.ok(many.every((g, k) => k === 0 || g > many[k - 1]!));
  assert.deepEqual(sampleGroups(index, 96, 16, random), [96, 97, 98, 99, 100]);
  assert.deepEqual(sampleGroups(index, 101, 16, random), [], 'the short last group has no aligned twin');
});

test('localShare: blocks at their own offsets in any local file, the rest not', async () => {
  const groups = 32;
  const image = randomBytes(groups * G * BS);
  const index = indexOfImage(image, BS, G);
  // slot 0: every block but the first of each group; slot 1: only the second of each group
  const slot0 = Buffer.from(image);
  const slot1 = randomBytes(image.length);
  for (let g = 0; g < groups; g++) {
    randomBytes(BS).copy(slot0, g * G * BS);
    randomBytes(BS).copy(slot0, (g * G + 1) * BS);
    image.copy(slot1, (g * G + 1) * BS, (g * G + 1) * BS, (g * G + 2) * BS);
  }
  const tables = new Map(Array.from({ length: groups }, (_, g) => [g, tableOf(image, g)] as const));
  assert.equal(tables.get(0)!.length, G * DIGEST_BYTES);
  await withFiles([slot0], async (files) => assert.equal(await sameOffset(index, files, tables), 0.5));
  await withFiles([slot0, slot1], async (files) => assert.equal(await sameOffset(index, files, tables), 0.75));
  // a slot that cannot be opened, or is shorter than the groups, holds nothing of them
  await withFiles([slot0.subarray(0, 8 * G * BS)], async (files) => {
    assert.equal(await sameOffset(index, [{ path: '/nonexistent/slot', length: image.length }, ...files], tables), (8 * 2) / (groups * G));
  });
});

test('localShare: weighed by stored bytes (empty space counts for little), groups held whole left out', async () => {
  const groups = 16;
  // every other block empty (stored in 14 bytes); the slot holds the empty ones only
  const image = randomBytes(groups * G * BS);
  for (let b = 0; b < groups * G; b += 2) image.fill(0, b * BS, (b + 1) * BS);
  const index = indexOfImage(image, BS, G);
  const tables = new Map(Array.from({ length: groups }, (_, g) => [g, tableOf(image, g)] as const));
  await withFiles([Buffer.alloc(image.length)], async (files) => {
    assert.equal(await sameOffset(index, files, tables), 14 / (14 + BS));
  });
  // groups 0-7 held whole, the others with one block of four: only the others count
  const slot = Buffer.from(image);
  for (let g = 8; g < groups; g++) randomBytes(3 * BS).copy(slot, (g * G + 1) * BS);
  await withFiles([slot], async (files) => assert.equal(await sameOffset(index, files, tables), 14 / (2 * 14 + 2 * BS)));
  // all held whole: nothing to say about the others
  await withFiles([image], async (files) => assert.equal(await sameOffset(index, files, tables), 0));
});

test('localShare after a scan: blocks found anywhere in the slots, as the delta looks for them', async () => {
  const groups = 16;
  const image = randomBytes(groups * G * BS);
  const index = indexOfImage(image, BS, G);
  const tables = new Map(Array.from({ length: groups }, (_, g) => [g, tableOf(image, g)] as const));
  // the image moved by one block: nothing at its own offset, every block but the last elsewhere
  const slot = Buffer.concat([randomBytes(BS), image.subarray(0, image.length - BS)]);
  await withFiles([slot], async (files) => {
    assert.equal(await sameOffset(index, files, tables), 0);
    const local = await LocalIndex.scan(files, BS, G, null, signal);
    try {
      assert.equal(await localShare(index, tables, indexedHits(index, local), signal), (groups * G - 1) / (groups * G));
    } finally {
      await local.close();
    }
  });
});
