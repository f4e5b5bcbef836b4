// Format 2: blocks compressed independently, two-level index. Round trip, resume inside a group,
// and each bad input with its own code — none of them lets a bad block through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { policyCheck } from '../../../agent/bundle/reader.ts';
import { BundleStreamParser, STEP_BLOCKS } from '../../../agent/bundle/stream-parser.ts';
import { BlockPool } from '../../../agent/bundle/block-pool.ts';
import { SPAN_BLOCKS, StoredBlockCutter } from '../../../agent/bundle/stored-block-cutter.ts';
import { streamEnd, streamOffset } from '../../../agent/bundle/payload-stream.ts';
import type { BlockSink, VerifiedHead } from '../../../agent/bundle/types.ts';
import { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { signManifest } from '../../../shared/bundle/create.ts';
import { encodeHeader } from '../../../shared/bundle/tar-header.ts';
import { paddedSize, TAR_EOF_BYTES } from '../../../shared/bundle/format.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import type { TrustStore } from '../../../shared/bundle/trust.ts';
import type { SigningKey } from '../../../shared/bundle/keys.ts';
import { devKeys, eachBlock, makeBundle, makeTrustDir, testPolicy } from '../../support/bundle-fixtures.ts';
import { joinV2, splitV2 } from '../../support/v2-resign.ts';

const BS = 4096;
const G = 4;
let dir: string;
let image: Buffer;
let bundle: Buffer;
let trust: TrustStore;
let keys: SigningKey[];

class Collect implements BlockSink {
  blocks = new Map<number, Buffer>();
  async begin() {}
  async block(p: PayloadEntry, i: number, data: Buffer) {
    eachBlock(p, i, data, (k, b) => this.blocks.set(k, Buffer.from(b)));
  }
  async end() {}
}

async function* once(b: Buffer, step = 3000): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += step) yield b.subarray(i, i + step);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-v2-'));
  const k = await devKeys(['dev-a']);
  keys = k.map((x) => x.key);
  // compressible text, zeros, then random: every kind of block, and a short last block
  image = Buffer.concat([Buffer.from('outpost '.repeat(6000)), Buffer.alloc(9 * BS), randomBytes(7 * BS + 123)]);
  await writeFile(join(dir, 'img'), image);
  await makeBundle({ image: join(dir, 'img'), out: join(dir, 'b.bundle'), keys: k, format: 2, blockSize: BS, groupBlocks: G });
  bundle = await readFile(join(dir, 'b.bundle'));
  trust = (await makeTrustDir(join(dir, 'trust'), k)).store;
});

after(() => rm(dir, { recursive: true, force: true }));

async function read(b: Buffer): Promise<{ sink: Collect; head?: VerifiedHead; err?: unknown }> {
  const sink = new Collect();
  try {
    const head = await createVerifier(testPolicy(trust)).readBundle(once(b), sink);
    return { sink, head };
  } catch (err) {
    return { sink, err };
  }
}

test('a format-2 bundle reads back to the image, compressed where that helps', async () => {
  const { sink, head, err } = await read(bundle);
  assert.equal(err, undefined);
  const p = head!.manifest.payloads[0]!;
  assert.equal(head!.manifest.format, 2);
  assert.equal(p.blocks, Math.ceil(image.length / BS));
  assert.ok(p.storedSize! < image.length * 0.6, `stored ${p.storedSize} of ${image.length}`);
  assert.ok(Buffer.concat([...sink.blocks.keys()].sort((a, b) => a - b).map((i) => sink.blocks.get(i)!)).equals(image));
});

test('resume inside a group: the stream starts at the group table, earlier blocks are not handed on', async () => {
  const v = createVerifier(testPolicy(trust));
  const head = await v.readHead(once(bundle));
  const p = head.payloads[0]!;
  for (const from of [0, 5, 8, p.entry.blocks - 1, p.entry.blocks]) {
    const sink = new Collect();
    await v.readBlocks(once(bundle.subarray(streamOffset(p, from), streamEnd(p))), head, p.entry.name, from, sink);
    assert.deepEqual([...sink.blocks.keys()], Array.from({ length: p.entry.blocks - from }, (_, k) => from + k));
    for (const [i, b] of sink.blocks) assert.ok(b.equals(image.subarray(i * BS, (i + 1) * BS)));
  }
});

test('blocks stored raw are cut in spans: whole blocks of one group, from the resume point, with their own digests', async () => {
  const head = await createVerifier(testPolicy(trust)).readHead(once(bundle));
  const p = head.payloads[0]!;
  const index = p.stored!;
  // the random tail is raw and crosses group boundaries; text and zeros are compressed
  for (const from of [0, 17, 22, 25, 27]) { // 21–26 random (raw), 27 the short end
    for (const step of [3000, 2 * BS, 10 * BS + 7, 1 << 20]) {
      const bytes = bundle.subarray(streamOffset(p, from), streamEnd(p));
      const cutter = new StoredBlockCutter(index, new BlockPool(8), from);
      const seen: number[] = [];
      let spans = 0;
      for (let at = 0; at < bytes.length; at += step) {
        const chunk = bytes.subarray(at, Math.min(at + step, bytes.length));
        for (let off = 0; off < chunk.length && !cutter.done; ) {
          const { used, block } = cutter.push(chunk, off);
          off += used;
          if (!block) continue;
          const n = block.count ?? 1;
          const where = `from ${from}, step ${step}, blocks ${block.index}+${n}`;
          if (n > 1) {
            spans++;
            assert.ok(n <= SPAN_BLOCKS && block.lent, where);
            assert.equal(Math.floor(block.index / G), Math.floor((block.index + n - 1) / G), `${where}: one group`);
            assert.equal(block.data.length, n * BS, where);
          }
          for (let k = 0; k < n; k++) {
            const i: number = block.index + k;
            if (n > 1) assert.equal(index.storedLength(i), BS, `${where}: block ${i} is stored raw`);
            const raw = block.data.subarray(k * (n > 1 ? BS : 0), n > 1 ? (k + 1) * BS : undefined);
            assert.ok(raw.equals(image.subarray(i * BS, i * BS + raw.length)), `${where}: block ${i}`);
            assert.ok(block.expected.subarray(k * 32, (k + 1) * 32).equals(createHash('sha256').update(raw).digest()), `${where}: digest of ${i}`);
            seen.push(i);
          }
        }
      }
      assert.deepEqual(seen, Array.from({ length: p.entry.blocks - from }, (_, k) => from + k), `from ${from}, step ${step}`);
      if (step > 8 * BS && from < 26) assert.ok(spans > 0, `from ${from}, step ${step}: no span cut`);
    }
  }
});

test('a manifest of an unknown format is refused with E_BUNDLE_FORMAT', async () => {
  const m = Buffer.from(JSON.stringify({ ...splitV2(bundle).manifest, format: 3 }));
  const entry = (name: string, data: Buffer) => [encodeHeader(name, data.length), data, Buffer.alloc(paddedSize(data.length) - data.length)];
  const b = Buffer.concat([...entry('manifest.json', m), ...entry('signatures.json', signManifest(m, keys)), Buffer.alloc(TAR_EOF_BYTES)]);
  const { err } = await read(b);
  assert.equal((err as { code?: string }).code, 'E_BUNDLE_FORMAT');
});

function parts() {
  const s = splitV2(bundle);
  return { ...s, idx: new StoredIndex(s.manifest.payloads[0]!, s.index) };
}

async function expectCode(b: Buffer, code: string, badBlock: number) {
  const { sink, err } = await read(b);
  assert.equal((err as { code?: string })?.code, code, String(err));
  assert.ok(![...sink.blocks.keys()].some((i) => i >= badBlock), `blocks from ${badBlock} on never reach the sink`);
}

test('index tampering: a group table or the signed index altered is E_BUNDLE_INDEX', async () => {
  const a = parts();
  a.payload[a.idx.group(3).tableOffset + 7] ^= 1;
  await expectCode(joinV2(a, keys), 'E_BUNDLE_INDEX', 3 * G);
  const b = parts();
  b.index[40] ^= 1;
  await expectCode(joinV2(b, keys, { keepIndexDigest: true }), 'E_BUNDLE_INDEX', 0);
});

test('compressed-size lies are E_BUNDLE_STORED_SIZE, before any block', async () => {
  const a = parts();
  a.index.writeUInt16BE(BS, a.idx.groups * 32 + 2 * 2); // 4097 stored bytes for a 4096-byte block
  await expectCode(joinV2(a, keys), 'E_BUNDLE_STORED_SIZE', 0);
  const b = parts();
  b.index.writeUInt16BE(b.idx.storedLength(3) - 2, b.idx.groups * 32 + 3 * 2); // one byte less than stored
  await expectCode(joinV2(b, keys, { keepStoredSize: true }), 'E_BUNDLE_STORED_SIZE', 0);
});

/** Replaces block i's stored bytes (sizes, stored size and digests follow: a signer did it). */
function replaceBlock(i: number, stored: Buffer): Buffer {
  const a = parts();
  const at = a.idx.block(i);
  a.payload = Buffer.concat([a.payload.subarray(0, at.offset), stored, a.payload.subarray(at.offset + at.length)]);
  a.index.writeUInt16BE(stored.length - 1, a.idx.groups * 32 + i * 2);
  return joinV2(a, keys);
}

test('a block that inflates past its size (a bomb) is E_BUNDLE_BOMB', async () => {
  await expectCode(replaceBlock(1, zstdCompressSync(Buffer.alloc(64 << 20))), 'E_BUNDLE_BOMB', 1);
});

test('stored bytes that are not exactly one zstd frame are E_BUNDLE_DECOMPRESS', async () => {
  const a = parts();
  const at = a.idx.block(2);
  const garbage = randomBytes(at.length);
  await expectCode(replaceBlock(2, garbage), 'E_BUNDLE_DECOMPRESS', 2);
  const frame = a.payload.subarray(at.offset, at.offset + at.length);
  await expectCode(replaceBlock(2, Buffer.concat([frame, Buffer.from([0])])), 'E_BUNDLE_DECOMPRESS', 2);
});

test('a frame that inflates to other content is E_BUNDLE_BLOCK_HASH', async () => {
  await expectCode(replaceBlock(1, zstdCompressSync(Buffer.alloc(BS, 7))), 'E_BUNDLE_BLOCK_HASH', 1);
});

test('a well-compressed image: one parser step completes at most STEP_BLOCKS blocks (memory stays a few blocks)', async () => {
  // 2,000 zero blocks are stored in a few bytes each: a 64 KiB step would otherwise hold them all
  const zeros = Buffer.alloc(2000 * BS);
  await writeFile(join(dir, 'zeros.img'), zeros);
  const k = await devKeys(['dev-a']);
  await makeBundle({ image: join(dir, 'zeros.img'), out: join(dir, 'zeros.bundle'), keys: k, format: 2, blockSize: BS, groupBlocks: 16 });
  const bytes = await readFile(join(dir, 'zeros.bundle'));
  assert.ok(bytes.length < zeros.length / 20, `stored in ${bytes.length} bytes`);
  const parser = new BundleStreamParser(policyCheck(testPolicy(trust)), new BlockPool(64));
  let most = 0;
  let blocks = 0;
  for (let off = 0; off < bytes.length; ) {
    off += parser.step(bytes, off);
    const n = parser.takeEvents().filter((e) => e.kind === 'block').length;
    most = Math.max(most, n);
    blocks += n;
  }
  parser.finish();
  assert.equal(blocks, 2000);
  assert.ok(most <= STEP_BLOCKS, `${most} blocks completed in one step`);
});
