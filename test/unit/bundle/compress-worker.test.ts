// The block ring's worker thread on its own (this thread claims no job): every block hashed and
// stored as encodeBlock() stores it, blocks of zeros included (hashed and compressed once per
// thread, then reused), whatever came between them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlockRing, READ_JOBS } from '../../../shared/bundle/compress-worker.ts';
import { encodeBlock } from '../../../shared/bundle/block-codec.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const BS = 4096;

/** Blocks by kinds in turn, written into the ring's first read (READ_JOBS jobs), each job published full. */
function fill(ring: BlockRing): Buffer[] {
  const data = ring.readTarget(0);
  const r = seededRandom(4);
  const text = Buffer.from('outpost worker block '.repeat(200)).subarray(0, BS);
  const blocks: Buffer[] = [];
  for (let at = 0, k = 0; at < data.length; at += BS, k++) {
    const kind = KINDS[k % KINDS.length];
    const b = kind === 'zeros' ? Buffer.alloc(BS) : kind === 'text' ? text : Buffer.from(Array.from({ length: BS }, () => Math.floor(r() * 256)));
    b.copy(data, at);
    blocks.push(b);
  }
  for (let j = 0; j < READ_JOBS; j++) ring.publish(j, ring.jobBytes);
  return blocks;
}

const KINDS = ['zeros', 'random', 'zeros', 'text', 'zeros', 'zeros', 'random', 'text'];

/** Every job's blocks as encodeBlock() stores them, with their sha256. */
async function check(ring: BlockRing, blocks: Buffer[]): Promise<void> {
  let i = 0;
  for (let j = 0; j < READ_JOBS; j++) {
    await ring.take(j, (digest, stored) => {
      const raw = blocks[i]!;
      assert.ok(digest.equals(createHash('sha256').update(raw).digest()), `block ${i}: digest`);
      assert.ok(stored.equals(encodeBlock(raw)), `block ${i} (${KINDS[i % KINDS.length]}): stored bytes`);
      i++;
    });
  }
  assert.equal(i, blocks.length);
}

test('a worker stores zeros, text and random blocks as encodeBlock() does, in any order', async () => {
  const ring = new BlockRing(BS, 3);
  const blocks = fill(ring);
  let progress = 0;
  ring.start(1, () => progress++);
  try {
    const deadline = Date.now() + 60_000;
    for (let j = 0; j < READ_JOBS; j++) {
      while (!ring.done(j)) {
        ring.check();
        assert.ok(Date.now() < deadline, `job ${j} not done by the worker`);
        await sleep(5);
      }
    }
    assert.ok(progress >= READ_JOBS);
    await check(ring, blocks);
  } finally {
    await ring.close();
  }
});

test('this thread alone stores them the same', async () => {
  const ring = new BlockRing(BS, 3);
  const blocks = fill(ring);
  try {
    for (let j = ring.claim(); j >= 0; j = ring.claim()) ring.run(j);
    for (let j = 0; j < READ_JOBS; j++) assert.ok(ring.done(j), `job ${j}`);
    await check(ring, blocks);
  } finally {
    await ring.close();
  }
});
