// The verify pipeline with several blocks in flight and hashes finishing out of order: a block
// reaches the sink only after its own digest matched, in order, one sink call at a time; the
// first bad block stops the line; after a producer failure only what it queued before, verified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlockPool } from '../../../agent/bundle/block-pool.ts';
import { VerifyPipeline, type BlockHasher } from '../../../agent/bundle/verify-pipeline.ts';
import type { UncheckedBlock } from '../../../agent/bundle/block-cutter.ts';
import type { BlockSink } from '../../../agent/bundle/types.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import { eachBlock } from '../../support/bundle-fixtures.ts';

const BS = 4096;
const N = 40;
const payload: PayloadEntry = { name: 'p.img', slotClass: 'rootfs', size: N * BS, sha256: '0'.repeat(64), blockSize: BS, blocks: N, indexSha256: '0'.repeat(64) };

/** Random blocks, every fifth one zeros (compared with zeros, not hashed: block-digest.ts). */
function blocks(seed: number): Buffer[] {
  const r = seededRandom(seed);
  return Array.from({ length: N }, (_, i) => (i % 5 === 2 ? Buffer.alloc(BS) : Buffer.from(Array.from({ length: BS }, () => Math.floor(r() * 256)))));
}

/** Real sha256, finishing after a random delay: later blocks often finish first. */
function slowHasher(seed: number, stats: { now: number; most: number }): BlockHasher {
  const r = seededRandom(seed);
  return async (data) => {
    stats.now++;
    stats.most = Math.max(stats.most, stats.now);
    const d = createHash('sha256').update(data).digest();
    await sleep(Math.floor(r() * 6));
    stats.now--;
    return d;
  };
}

class CheckingSink implements BlockSink {
  got: number[] = [];
  busy = false;
  readonly #want: Buffer[];
  constructor(want: Buffer[]) {
    this.#want = want;
  }
  async begin() {}
  async block(p: PayloadEntry, index: number, data: Buffer) {
    assert.equal(this.busy, false, 'sink called while a call was in progress');
    this.busy = true;
    eachBlock(p, index, data, (i, b) => assert.ok(b.equals(this.#want[i]!), `block ${i} is not the verified original`));
    await sleep(index % 3);
    eachBlock(p, index, data, (i) => this.got.push(i));
    this.busy = false;
  }
  async end() {}
}

/** Feeds blocks like the reader does: copied into pool buffers, each with its signed digest. */
async function feed(pipe: VerifyPipeline, pool: BlockPool, data: Buffer[], index: Buffer[], upTo = data.length): Promise<void> {
  for (let i = 0; i < upTo; i++) {
    const buf = pool.take(BS);
    data[i]!.copy(buf);
    const b: UncheckedBlock = { payload, index: i, data: buf, expected: index[i]! };
    await pipe.block(b);
  }
}

test('out-of-order hashes: every block reaches the sink in order, never more than the bound in flight', async () => {
  const data = blocks(1);
  const index = data.map((d) => createHash('sha256').update(d).digest());
  const stats = { now: 0, most: 0 };
  const pool = new BlockPool(5);
  const sink = new CheckingSink(data);
  const pipe = new VerifyPipeline(sink, pool, { hash: slowHasher(2, stats), maxBlocks: 4 });
  await feed(pipe, pool, data, index);
  await pipe.flush();
  assert.deepEqual(sink.got, [...Array(N).keys()]);
  assert.ok(stats.most >= 2, 'several blocks were hashed at once');
  assert.ok(stats.most <= 4, `${stats.most} hashes in flight`);
});

test('a bad block in the middle: the blocks before it, in order, and nothing from it on', async () => {
  for (let seed = 10; seed < 30; seed++) {
    const data = blocks(seed);
    const index = data.map((d) => createHash('sha256').update(d).digest());
    const bad = 1 + (seed % (N - 2));
    const sent = data.map((d) => Buffer.from(d));
    sent[bad]![seed % BS] ^= 0x40;
    const pool = new BlockPool(5);
    const sink = new CheckingSink(data);
    const pipe = new VerifyPipeline(sink, pool, { hash: slowHasher(seed, { now: 0, most: 0 }), maxBlocks: 4 });
    const err = await feed(pipe, pool, sent, index).then(() => pipe.flush()).then(() => null, (e: unknown) => e);
    const reported = err ?? (await pipe.stop(new Error('unreachable')));
    assert.ok(isOutpostError(reported, 'E_BUNDLE_BLOCK_HASH'), `seed ${seed}: ${reported}`);
    assert.deepEqual(sink.got, [...Array(bad).keys()], `seed ${seed}`);
  }
});

test('a producer failure: the verified blocks it queued are handed on; an earlier bad block is the error reported', async () => {
  const data = blocks(3);
  const index = data.map((d) => createHash('sha256').update(d).digest());
  // clean blocks, then the producer fails: what it queued before is written, in order
  let pool = new BlockPool(5);
  let sink = new CheckingSink(data);
  let pipe = new VerifyPipeline(sink, pool, { hash: slowHasher(4, { now: 0, most: 0 }), maxBlocks: 4 });
  await feed(pipe, pool, data, index, 10);
  const reported = await pipe.stop(new Error('stream cut'));
  assert.equal((reported as Error).message, 'stream cut');
  assert.deepEqual(sink.got, [...Array(10).keys()]);
  // a bad block still queued when the producer fails: its error wins (it came first in the stream)
  const sent = data.map((d) => Buffer.from(d));
  sent[8]![0] ^= 1;
  pool = new BlockPool(5);
  sink = new CheckingSink(data);
  pipe = new VerifyPipeline(sink, pool, { hash: slowHasher(5, { now: 0, most: 0 }), maxBlocks: 4 });
  const fed = await feed(pipe, pool, sent, index, 10).then(() => null, (e: unknown) => e);
  const second = fed ?? (await pipe.stop(new Error('stream cut')));
  assert.ok(isOutpostError(second, 'E_BUNDLE_BLOCK_HASH'), String(second));
  assert.deepEqual(sink.got, [...Array(8).keys()]);
});

test('an abort stops the line after the hand-over in progress', async () => {
  const data = blocks(6);
  const index = data.map((d) => createHash('sha256').update(d).digest());
  const ac = new AbortController();
  const pool = new BlockPool(5);
  const sink = new CheckingSink(data);
  const inner = sink.block.bind(sink);
  sink.block = async (p, i, d) => {
    await inner(p, i, d);
    if (i === 5) ac.abort(new Error('window closed'));
  };
  const pipe = new VerifyPipeline(sink, pool, { hash: slowHasher(7, { now: 0, most: 0 }), maxBlocks: 4, signal: ac.signal });
  const fed = await feed(pipe, pool, data, index, 12).then(() => pipe.flush()).then(() => null, (e: unknown) => e);
  const reported = fed ?? (await pipe.stop(new Error('unreachable')));
  assert.equal((reported as Error).message, 'window closed');
  assert.deepEqual(sink.got, [...Array(6).keys()]);
});

/** Feeds blocks the way format 2 stores raw ones: lent views of a chunk that is overwritten right after. */
async function feedLent(pipe: VerifyPipeline, data: Buffer[], index: Buffer[], upTo = data.length): Promise<void> {
  const chunk = Buffer.alloc(BS);
  for (let i = 0; i < upTo; i++) {
    data[i]!.copy(chunk);
    const wait = pipe.block({ payload, index: i, data: chunk, expected: index[i]!, lent: true });
    chunk.fill(0xee); // the source reuses its buffer: the pipeline must have copied what it kept
    if (wait) await wait;
  }
}

class RunSink extends CheckingSink {
  calls = 0;
  override async block(p: PayloadEntry, index: number, data: Buffer) {
    this.calls++;
    await super.block(p, index, data);
  }
}

test('hashed on the caller, small blocks go on in runs: same blocks, in order, fewer sink calls', async () => {
  for (const lent of [false, true]) {
    const data = blocks(40);
    const index = data.map((d) => createHash('sha256').update(d).digest());
    const pool = new BlockPool(5);
    const sink = new RunSink(data);
    const pipe = new VerifyPipeline(sink, pool, { maxBlocks: 2, runBytes: 4 * BS });
    await (lent ? feedLent(pipe, data, index) : feed(pipe, pool, data, index));
    await pipe.flush();
    assert.deepEqual(sink.got, [...Array(N).keys()]);
    assert.equal(sink.calls, N / 4, `lent ${lent}: ${sink.calls} sink calls for ${N} blocks in runs of 4`);
  }
});

test('runs: a bad block, or the producer failing, hands on exactly the verified blocks before it', async () => {
  for (let seed = 50; seed < 70; seed++) {
    const data = blocks(seed);
    const index = data.map((d) => createHash('sha256').update(d).digest());
    const lent = seed % 2 === 0;
    // a bad block at any position within a run
    const bad = 1 + (seed % (N - 2));
    const sent = data.map((d) => Buffer.from(d));
    sent[bad]![seed % BS] ^= 0x08;
    let pool = new BlockPool(5);
    let sink = new RunSink(data);
    let pipe = new VerifyPipeline(sink, pool, { maxBlocks: 2, runBytes: 4 * BS });
    const err = await (lent ? feedLent(pipe, sent, index) : feed(pipe, pool, sent, index)).then(() => pipe.flush()).then(() => null, (e: unknown) => e);
    const reported = err ?? (await pipe.stop(new Error('unreachable')));
    assert.ok(isOutpostError(reported, 'E_BUNDLE_BLOCK_HASH'), `seed ${seed}: ${reported}`);
    assert.deepEqual(sink.got, [...Array(bad).keys()], `seed ${seed}: bad block ${bad}`);
    // the producer fails mid-run: the blocks it gave are all handed on, the error is its own
    const upTo = 1 + (seed % (N - 1));
    pool = new BlockPool(5);
    sink = new RunSink(data);
    pipe = new VerifyPipeline(sink, pool, { maxBlocks: 2, runBytes: 4 * BS });
    await (lent ? feedLent(pipe, data, index, upTo) : feed(pipe, pool, data, index, upTo));
    const stopped = await pipe.stop(new Error('stream cut'));
    assert.equal((stopped as Error).message, 'stream cut');
    assert.deepEqual(sink.got, [...Array(upTo).keys()], `seed ${seed}: producer stopped after ${upTo}`);
  }
});

/** Feeds blocks as spans of `span` blocks (format 2's raw runs): lent views of one chunk, overwritten right after. */
async function feedSpans(pipe: VerifyPipeline, data: Buffer[], index: Buffer[], span: number, upTo = data.length): Promise<void> {
  const chunk = Buffer.alloc(span * BS);
  for (let i = 0; i < upTo; i += span) {
    const n = Math.min(span, upTo - i);
    for (let k = 0; k < n; k++) data[i + k]!.copy(chunk, k * BS);
    const expected = Buffer.concat(index.slice(i, i + n));
    const wait = pipe.block({ payload, index: i, data: chunk.subarray(0, n * BS), expected, lent: true, count: n });
    chunk.fill(0xee);
    if (wait) await wait;
  }
}

test('spans of blocks: each block checked on its own; a bad one anywhere stops the line exactly there', async () => {
  // span lengths that fit a run, straddle runs (runs of 4) and exceed them
  for (const span of [2, 3, 6, 16]) {
    const data = blocks(80 + span);
    const index = data.map((d) => createHash('sha256').update(d).digest());
    const sink = new RunSink(data);
    const pipe = new VerifyPipeline(sink, new BlockPool(5), { maxBlocks: 2, runBytes: 4 * BS });
    await feedSpans(pipe, data, index, span);
    await pipe.flush();
    assert.deepEqual(sink.got, [...Array(N).keys()], `span ${span}`);
    assert.equal(sink.calls, N / 4, `span ${span}: ${sink.calls} sink calls for ${N} blocks in runs of 4`);
    for (let bad = 0; bad < N; bad += 1 + (span % 3)) {
      const sent = data.map((d) => Buffer.from(d));
      sent[bad]![(bad * 7) % BS] ^= 0x10;
      const s = new RunSink(data);
      const p = new VerifyPipeline(s, new BlockPool(5), { maxBlocks: 2, runBytes: 4 * BS });
      const err = await feedSpans(p, sent, index, span).then(() => p.flush()).then(() => null, (e: unknown) => e);
      const reported = err ?? (await p.stop(new Error('unreachable')));
      assert.ok(isOutpostError(reported, 'E_BUNDLE_BLOCK_HASH'), `span ${span}, bad ${bad}: ${reported}`);
      assert.match((reported as Error).message, new RegExp(`block ${bad} `), `span ${span}: the bad block is the one named`);
      assert.deepEqual(s.got, [...Array(bad).keys()], `span ${span}: bad block ${bad}`);
    }
  }
});

test('spans with a hasher of its own: every block hashed by it and compared at its hand-over', async () => {
  const data = blocks(91);
  const index = data.map((d) => createHash('sha256').update(d).digest());
  const sent = data.map((d) => Buffer.from(d));
  sent[13]![5] ^= 1;
  const stats = { now: 0, most: 0 };
  const sink = new CheckingSink(data);
  const pipe = new VerifyPipeline(sink, new BlockPool(5), { hash: slowHasher(92, stats), maxBlocks: 4 });
  const err = await feedSpans(pipe, sent, index, 5).then(() => pipe.flush()).then(() => null, (e: unknown) => e);
  const reported = err ?? (await pipe.stop(new Error('unreachable')));
  assert.ok(isOutpostError(reported, 'E_BUNDLE_BLOCK_HASH'), String(reported));
  assert.deepEqual(sink.got, [...Array(13).keys()]);
  assert.ok(stats.most >= 2, 'blocks of a span were hashed by the given hasher');
});
