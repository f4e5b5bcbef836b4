import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_BLOCKS_IN_FLIGHT, RUN_BYTES } from '../../../agent/bundle/verify-pipeline.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import type { BlockSink, VerifiedHead } from '../../../agent/bundle/types.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, eachBlock, makeBundle, makeImage, makeTrustDir, testPolicy, TEST_COMPATIBLE, type MadeBundle } from '../../support/bundle-fixtures.ts';
import { createBundle } from '../../../shared/bundle/create.ts';
import type { TrustStore } from '../../../shared/bundle/trust.ts';

const BS = 64 * 1024;
let dir: string;
let image: Buffer;
let made: MadeBundle;
let bundle: Buffer;
let trust: TrustStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-reader-'));
  const keys = await devKeys(['dev-a']);
  const img = await makeImage(join(dir, 'rootfs.img'), 20 * BS + 777, 3);
  image = await readFile(img);
  made = await makeBundle({ image: img, out: join(dir, 'b.bundle'), keys, blockSize: BS, release: 5 });
  bundle = await readFile(made.path);
  trust = (await makeTrustDir(join(dir, 'trust'), keys)).store;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sink that records everything, in call order. */
class RecordingSink implements BlockSink {
  calls: string[] = [];
  blocks: Buffer[] = [];
  async begin(_h: VerifiedHead, p: PayloadEntry) {
    this.calls.push(`begin:${p.name}`);
  }
  async block(p: PayloadEntry, index: number, data: Buffer) {
    eachBlock(p, index, data, (i, b) => {
      this.calls.push(`block:${i}`);
      this.blocks.push(Buffer.from(b));
    });
  }
  async end(p: PayloadEntry) {
    this.calls.push(`end:${p.name}`);
  }
}

/** Yields `bytes` in chunks of `size`, counting what was pulled. */
function chunks(bytes: Buffer, size: number, stats = { pulled: 0 }): AsyncIterable<Buffer> {
  return (async function* () {
    for (let i = 0; i < bytes.length; i += size) {
      const c = bytes.subarray(i, i + size);
      stats.pulled += c.length;
      yield c;
    }
  })();
}

test('readBundle delivers every verified block in order, then end', async () => {
  const sink = new RecordingSink();
  const head = await createVerifier(testPolicy(trust)).readBundle(createReadStream(made.path), sink);
  assert.deepEqual(sink.calls, ['begin:rootfs.img', ...Array.from({ length: 21 }, (_, i) => `block:${i}`), 'end:rootfs.img']);
  assert.ok(Buffer.concat(sink.blocks).equals(image));
  assert.equal(head.manifest.release, 5);
  assert.deepEqual([...head.signers], ['dev-a']);
  const payloadLayout = made.layout.entries.find((e) => e.kind === 'payload')!;
  assert.equal(head.payloads[0]!.dataOffset, payloadLayout.dataOffset);
  assert.ok(head.headBytes.equals(bundle.subarray(0, payloadLayout.dataOffset)));
  // the reported offset really is where the payload's bytes are in the file
  assert.ok(bundle.subarray(payloadLayout.dataOffset, payloadLayout.dataOffset + image.length).equals(image));
});

// Regression: the tar parser buffers body bytes until it has 512, so with 511-byte chunks the
// signatures entry was not complete when the next header was checked (E_BUNDLE_ENTRY_ORDER on a
// valid bundle). The tar parser now sees each piece before the framing guard does.
test('regression: valid bundle read in 511-byte (and 13, 70000) chunks was rejected as reordered', async () => {
  for (const size of [13, 511, 70_000]) {
    const sink = new RecordingSink();
    await createVerifier(testPolicy(trust)).readBundle(chunks(bundle, size), sink);
    assert.ok(Buffer.concat(sink.blocks).equals(image), `chunk size ${size}`);
  }
});

test('a small bundle read one byte at a time', async () => {
  const keys = await devKeys(['dev-a']);
  const img = await makeImage(join(dir, 'tiny.img'), 5000, 8);
  const tiny = await makeBundle({ image: img, out: join(dir, 'tiny.bundle'), keys, blockSize: BS });
  const sink = new RecordingSink();
  await createVerifier(testPolicy(trust)).readBundle(chunks(await readFile(tiny.path), 1), sink);
  assert.deepEqual(sink.calls, ['begin:rootfs.img', 'block:0', 'end:rootfs.img']);
  assert.ok(Buffer.concat(sink.blocks).equals(await readFile(img)));
});

test('readHead stops reading at the first payload data and matches readBundle', async () => {
  const stats = { pulled: 0 };
  const head = await createVerifier(testPolicy(trust)).readHead(chunks(bundle, 4096, stats));
  assert.ok(stats.pulled < head.headBytes.length + 4096, `pulled ${stats.pulled}`);
  assert.equal(head.headBytes.length, head.payloads[0]!.dataOffset);
  assert.equal(head.payloads[0]!.blockHashes.length, 21 * 32);
});

test('verifyHeadBytes re-verifies a persisted head under the current policy', () => {
  const headBytes = bundle.subarray(0, made.layout.headSize);
  const head = createVerifier(testPolicy(trust)).verifyHeadBytes(Buffer.from(headBytes));
  assert.equal(head.manifest.version, '1.0.0');
  // the floor rose since the head was saved: the same bytes are now refused
  assert.throws(() => createVerifier(testPolicy(trust, { floor: 6 })).verifyHeadBytes(headBytes), (e) => isOutpostError(e, 'E_BUNDLE_ROLLBACK'));
  assert.throws(() => createVerifier(testPolicy(trust)).verifyHeadBytes(bundle.subarray(0, made.layout.headSize + 1)), (e) => isOutpostError(e, 'E_BUNDLE_HEAD'));
  assert.throws(() => createVerifier(testPolicy(trust)).verifyHeadBytes(bundle.subarray(0, made.layout.headSize - 1)), (e) => isOutpostError(e, 'E_BUNDLE_TRUNCATED'));
});

test('readBlocks resumes at a block boundary and stops at the payload end', async () => {
  const v = createVerifier(testPolicy(trust));
  const head = v.verifyHeadBytes(bundle.subarray(0, made.layout.headSize));
  const p = head.payloads[0]!;
  const sink = new RecordingSink();
  // a Range to the end of the file: padding and end-of-archive follow the payload
  await v.readBlocks(chunks(bundle.subarray(p.dataOffset + 7 * BS), 10_000), head, 'rootfs.img', 7, sink);
  assert.deepEqual(sink.calls, Array.from({ length: 14 }, (_, i) => `block:${i + 7}`));
  assert.ok(Buffer.concat(sink.blocks).equals(image.subarray(7 * BS)));
});

test('readBlocks rejects a stream not positioned where it claims, and a short one', async () => {
  const v = createVerifier(testPolicy(trust));
  const head = v.verifyHeadBytes(bundle.subarray(0, made.layout.headSize));
  const p = head.payloads[0]!;
  const sink = new RecordingSink();
  await assert.rejects(v.readBlocks(chunks(bundle.subarray(p.dataOffset + 6 * BS), 9000), head, 'rootfs.img', 7, sink), (e) => isOutpostError(e, 'E_BUNDLE_BLOCK_HASH'));
  assert.equal(sink.blocks.length, 0);
  await assert.rejects(v.readBlocks(chunks(bundle.subarray(p.dataOffset + 7 * BS, p.dataOffset + 9 * BS), 9000), head, 'rootfs.img', 7, sink), (e) => isOutpostError(e, 'E_BUNDLE_TRUNCATED') && e.retryable);
  await assert.rejects(v.readBlocks(chunks(bundle, 9000), head, 'nope', 0, sink), (e) => isOutpostError(e, 'E_BUNDLE_RANGE'));
  await assert.rejects(v.readBlocks(chunks(bundle, 9000), head, 'rootfs.img', 22, sink), (e) => isOutpostError(e, 'E_BUNDLE_RANGE'));
});

test('a slow sink holds the source back: read-ahead stays within the blocks in flight', async () => {
  const stats = { pulled: 0 };
  let delivered = 0;
  let worst = 0;
  const sink: BlockSink = {
    async begin() {},
    async block(_p, _i, data) {
      delivered += data.length;
      worst = Math.max(worst, stats.pulled - made.layout.headSize - delivered);
      await new Promise((r) => setImmediate(r));
    },
    async end() {},
  };
  await createVerifier(testPolicy(trust)).readBundle(chunks(bundle, 16 * 1024, stats), sink);
  assert.equal(delivered, image.length);
  // the blocks (or runs of gathered blocks) queued for the sink, the run being gathered, the block
  // being cut, and one source chunk
  assert.ok(worst <= (MAX_BLOCKS_IN_FLIGHT + 1) * Math.max(BS, RUN_BYTES) + BS + 16 * 1024, `read ${worst} bytes ahead of the sink`);
});

test('aborting stops the read with the signal reason and no further blocks', async () => {
  const ac = new AbortController();
  const sink = new RecordingSink();
  const orig = sink.block.bind(sink);
  let atAbort = -1;
  sink.block = async (p, i, d) => {
    await orig(p, i, d);
    if (sink.blocks.length >= 4 && atAbort < 0) {
      atAbort = sink.blocks.length;
      ac.abort(new Error('window closed'));
    }
  };
  await assert.rejects(createVerifier(testPolicy(trust)).readBundle(chunks(bundle, 8192), sink, ac.signal), /window closed/);
  assert.ok(atAbort >= 4 && atAbort < 20, `aborted after ${atAbort} blocks`);
  assert.equal(sink.blocks.length, atAbort);
});

test('two payloads: indexes first, then payloads in manifest order; each resumable by its offset', async () => {
  const keys = await devKeys(['dev-a']);
  const a = await makeImage(join(dir, 'boot.img'), 3 * BS, 31);
  const b = await makeImage(join(dir, 'root.img'), 2 * BS + 5, 32);
  const out = join(dir, 'two.bundle');
  const made2 = await createBundle({
    payloads: [
      { path: a, name: 'boot.img', slotClass: 'boot', blockSize: BS },
      { path: b, name: 'root.img', slotClass: 'rootfs', blockSize: BS },
    ],
    version: '2', release: 6, compatible: [TEST_COMPATIBLE], keys: [keys[0]!.key], out,
  });
  assert.deepEqual(made2.layout.entries.map((e) => e.name), ['manifest.json', 'signatures.json', 'index/boot.img', 'index/root.img', 'payload/boot.img', 'payload/root.img']);
  const bytes = await readFile(out);
  const sink = new RecordingSink();
  const v = createVerifier(testPolicy(trust));
  const head = await v.readBundle(chunks(bytes, 30_000), sink);
  assert.deepEqual(sink.calls, ['begin:boot.img', 'block:0', 'block:1', 'block:2', 'end:boot.img', 'begin:root.img', 'block:0', 'block:1', 'block:2', 'end:root.img']);
  assert.ok(Buffer.concat(sink.blocks).equals(Buffer.concat([await readFile(a), await readFile(b)])));
  // the head holds both indexes, so the second payload resumes from a persisted head alone
  const again = v.verifyHeadBytes(head.headBytes);
  const p2 = again.payloads[1]!;
  const resumed = new RecordingSink();
  await v.readBlocks(chunks(bytes.subarray(p2.dataOffset + BS), 4096), again, 'root.img', 1, resumed);
  assert.deepEqual(resumed.calls, ['block:1', 'block:2']);
});
