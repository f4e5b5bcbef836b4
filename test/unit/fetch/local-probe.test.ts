// The sample that spares a delta its full scan of the local slots: it must find savings worth a
// delta wherever they lie, not count empty space as savings, and give up sampling where a sample
// would cost nearly a scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { probeLocal } from '../../../agent/fetch/delta/local-probe.ts';
import { indexOfImage, withFiles } from './stored-index-fixture.ts';

const BS = 4096;
const G = 4;
const GROUP = BS * G;
const indexOf = (image: Buffer) => indexOfImage(image, BS, G);


const GROUPS = 1024; // 16 MiB images
const signal = new AbortController().signal;
const opts = { miss: 1e-3 }; // keeps the sample within a quarter of a 16 MiB slot (half is the limit)

test('slots holding nothing of the image: a full download, after reading a small sample of them', async () => {
  const image = randomBytes(GROUPS * GROUP);
  await withFiles([randomBytes(GROUPS * GROUP), Buffer.alloc(GROUPS * GROUP)], async (files) => {
    const r = await probeLocal(files, indexOf(image), 0, signal, opts);
    assert.equal(r.worth, false);
    assert.equal(r.groups, 2 * GROUPS);
    assert.ok(r.sampled > 0 && r.sampled <= r.groups / 4, `sampled ${r.sampled} of ${r.groups}`);
    // the empty slot's groups are compared with zeros, not hashed
    assert.ok(r.zeros > 0 && r.zeros < r.sampled, `${r.zeros} of ${r.sampled} sampled groups were zeros`);
  });
});

test('a sample of up to half the slots is taken rather than scanning them', async () => {
  const image = randomBytes(GROUPS * GROUP);
  await withFiles([randomBytes(GROUPS * GROUP), Buffer.alloc(GROUPS * GROUP)], async (files) => {
    // asked to miss less: about a third of the slots' groups
    const r = await probeLocal(files, indexOf(image), 0, signal, { miss: 1e-8 });
    assert.equal(r.worth, false);
    assert.ok(r.sampled > r.groups / 4 && r.sampled <= r.groups / 2, `sampled ${r.sampled} of ${r.groups}`);
  });
});

test('an image mostly free space: its zeros, which do not count, do not shrink the sample\'s target', async () => {
  // 724 groups of zeros (184 stored bytes each, 133 KB in all) and 300 random ones (16.5 KiB).
  // The zeros weigh less than half the savings asked for, so they do not count; the savings must
  // come from 16 or more random groups: a sample of 442 of the slot's 1024 groups.
  // Counting the zeros among the heaviest digests made it 9 groups and a sample too large to take.
  const image = Buffer.concat([Buffer.alloc(724 * GROUP), randomBytes(300 * GROUP)]);
  await withFiles([randomBytes(GROUPS * GROUP)], async (files) => {
    const r = await probeLocal(files, indexOf(image), 0, signal, opts);
    assert.equal(r.worth, false);
    assert.ok(r.sampled > 0 && r.sampled <= r.groups / 2, `sampled ${r.sampled} of ${r.groups}`);
  });
});

test('the previous release (2% of its blocks changed): worth a delta at the first groups sampled', async () => {
  const image = randomBytes(GROUPS * GROUP);
  const old = Buffer.from(image);
  for (let b = 0; b < old.length / BS; b += 50) old.fill(7, b * BS, b * BS + 100);
  await withFiles([old], async (files) => {
    const r = await probeLocal(files, indexOf(image), 0, signal, opts);
    assert.equal(r.worth, true);
    assert.ok(r.sampled >= 1 && r.sampled < 10, `sampled ${r.sampled}`);
  });
});

test('a tenth of the image in one place of an otherwise unrelated slot is found, whatever the sample', async () => {
  const image = randomBytes(GROUPS * GROUP);
  const slot = randomBytes(GROUPS * GROUP);
  const from = 600 * GROUP;
  image.copy(slot, 37 * GROUP, from, from + (GROUPS / 10) * GROUP); // elsewhere in the slot, still group-aligned
  for (const random of [() => 0, () => 0.999999, Math.random]) {
    await withFiles([slot], async (files) => {
      assert.equal((await probeLocal(files, indexOf(image), 0, signal, { ...opts, random })).worth, true);
    });
  }
});

test('empty space in both does not count as savings; an image that is mostly empty space is scanned', async () => {
  const image = randomBytes(GROUPS * GROUP);
  image.fill(0, 0, 300 * GROUP); // 30% zero groups, stored in 14 bytes a block
  await withFiles([Buffer.alloc(GROUPS * GROUP)], async (files) => {
    const r = await probeLocal(files, indexOf(image), 0, signal, opts);
    assert.equal(r.worth, false);
    assert.ok(r.sampled > 0);
    assert.equal(r.zeros, r.sampled);
  });
  const empty = Buffer.alloc(GROUPS * GROUP);
  randomBytes(GROUP).copy(empty, 5 * GROUP);
  await withFiles([randomBytes(GROUPS * GROUP)], async (files) => {
    // its few stored bytes are mostly one group: no sample small enough could rule it out
    assert.deepEqual(await probeLocal(files, indexOf(empty), 0, signal, opts), { worth: true, sampled: 0, zeros: 0, groups: GROUPS });
  });
});

test('zeros are hashed where the image\'s own zeros would be savings enough', async () => {
  // 300 groups of zeros (184 stored bytes each) and 100 random ones (16.5 KiB). Asked to save 5%,
  // the zeros weigh more than half of that; a sample this small runs only when a miss is allowed.
  const image = Buffer.concat([Buffer.alloc(300 * GROUP), randomBytes(100 * GROUP)]);
  await withFiles([Buffer.alloc(400 * GROUP)], async (files) => {
    const r = await probeLocal(files, indexOf(image), 0, signal, { miss: 0.9, minSaving: 0.05 });
    assert.deepEqual({ worth: r.worth, zeros: r.zeros }, { worth: true, zeros: 0 });
    assert.ok(r.sampled > 0);
    // asked to save 10%, they weigh less than half of it: compared with zeros, and no savings
    const tenth = await probeLocal(files, indexOf(image), 0, signal, { miss: 0.9, minSaving: 0.1 });
    assert.equal(tenth.worth, false);
    assert.ok(tenth.sampled > 0 && tenth.zeros === tenth.sampled);
  });
});

test('resuming: only the groups still to come count; slots too small to sample are scanned', async () => {
  const image = randomBytes(GROUPS * GROUP);
  const slot = randomBytes(GROUPS * GROUP);
  image.copy(slot, 0, 0, 200 * GROUP); // the first fifth is local, but it has already been written
  await withFiles([slot], async (files) => {
    assert.equal((await probeLocal(files, indexOf(image), 0, signal, opts)).worth, true);
    assert.equal((await probeLocal(files, indexOf(image), 300 * G, signal, opts)).worth, false);
  });
  await withFiles([randomBytes(64 * GROUP)], async (files) => {
    assert.deepEqual(await probeLocal(files, indexOf(image.subarray(0, 64 * GROUP)), 0, signal), { worth: true, sampled: 0, zeros: 0, groups: 64 });
  });
});

test('an unreadable slot costs only its share of the sample; an abort ends the probe', async () => {
  const image = randomBytes(GROUPS * GROUP);
  await withFiles([image], async (files) => {
    const r = await probeLocal([{ path: '/nonexistent/slot', length: GROUPS * GROUP }, ...files], indexOf(image), 0, signal, opts);
    assert.equal(r.worth, true);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(probeLocal(files, indexOf(image), 0, ac.signal, opts), /stop/);
  });
});
