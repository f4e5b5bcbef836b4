// Property: corrupt a real bundle at random (1–3 bytes, anywhere, with extra weight on the head)
// and every variant is rejected; the sink never receives a block at or after the first corrupted
// one, never a byte that differs from the original image, and never end(). Format 1, and format 2
// with its blocks stored raw (cut and checked in spans of several blocks).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundle } from '../../../agent/bundle/reader.ts';
import type { BlockSink } from '../../../agent/bundle/types.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, eachBlock, makeBundle, makeImage, makeTrustDir, testPolicy, type MadeBundle } from '../../support/bundle-fixtures.ts';
import type { TrustStore } from '../../../shared/bundle/trust.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const BS = 64 * 1024;
const VARIANTS = 600;
const SEED = 20261121;
// format 2: 4 KiB blocks of a random image, all stored raw (the pipeline gets them in spans), in
// groups of G; a whole number of groups, so each group's table is G digests
const BS2 = 4096;
const G = 16;
const VARIANTS2 = 300;
let dir: string;
let trust: TrustStore;

interface Case {
  made: MadeBundle;
  good: Buffer;
  image: Buffer;
  blockSize: number;
  /** The first block whose bytes (or table) hold offset `at` of the payload entry's data. */
  firstBad(at: number): number;
}
let v1: Case;
let v2: Case;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-property-'));
  const keys = await devKeys(['dev-a']);
  const img = await makeImage(join(dir, 'rootfs.img'), 6 * BS + 300, 21);
  const made = await makeBundle({ image: img, out: join(dir, 'b.bundle'), keys, blockSize: BS });
  v1 = { made, good: await readFile(made.path), image: await readFile(img), blockSize: BS, firstBad: (at) => Math.floor(at / BS) };
  const img2 = await makeImage(join(dir, 'rootfs2.img'), 4 * G * BS2, 22);
  const made2 = await makeBundle({ image: img2, out: join(dir, 'b2.bundle'), keys, format: 2, blockSize: BS2, groupBlocks: G });
  assert.equal(made2.manifest.payloads[0]!.storedSize, 4 * G * (BS2 + 32), 'every block stored raw');
  const group = G * (32 + BS2);
  v2 = {
    made: made2, good: await readFile(made2.path), image: await readFile(img2), blockSize: BS2,
    firstBad: (at) => {
      const g = Math.floor(at / group);
      const r = at - g * group;
      return g * G + (r < G * 32 ? 0 : Math.floor((r - G * 32) / BS2)); // a table byte: its group's first block
    },
  };
  trust = (await makeTrustDir(join(dir, 'trust'), keys)).store;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});


async function* chunks(b: Buffer, size: number) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function corruptAll(c: Case, variants: number, seed: number): Promise<void> {
  const { made, good, image } = c;
  const BS = c.blockSize;
  const random = seededRandom(seed);
  const payload = made.layout.entries.find((e) => e.kind === 'payload')!;
  const headWeighted = made.layout.headSize + 1024;
  const codes = new Map<string, number>();
  for (let v = 0; v < variants; v++) {
    const bytes = Buffer.from(good);
    const flips = 1 + Math.floor(random() * 3);
    let first = Infinity;
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(random() * (random() < 0.5 ? headWeighted : bytes.length));
      bytes[at] = bytes[at]! ^ (1 + Math.floor(random() * 255));
      first = Math.min(first, at);
    }
    const got: number[] = [];
    let begins = 0;
    let ends = 0;
    const sink: BlockSink = {
      async begin() {
        begins++;
      },
      async block(p, index, data) {
        assert.ok(data.equals(image.subarray(index * BS, index * BS + data.length)), `variant ${v}: block ${index} differs from the image`);
        eachBlock(p, index, data, (i) => got.push(i));
      },
      async end() {
        ends++;
      },
    };
    const size = [1000, 4096, 65_536, 100_000][Math.floor(random() * 4)]!;
    const where = `variant ${v} (first corrupted byte ${first}, ${flips} flips)`;
    await assert.rejects(readBundle(chunks(bytes, size), testPolicy(trust), sink), (e) => {
      assert.ok(isOutpostError(e) && e.code.startsWith('E_BUNDLE_'), `${where}: ${e}`);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      return true;
    }, `${where} was accepted`);
    assert.equal(ends, 0, `${where}: end() called`);
    if (first < payload.dataOffset) {
      assert.equal(begins + got.length, 0, `${where}: sink used before the head verified`);
    } else if (first < payload.dataOffset + payload.size) {
      const bad = c.firstBad(first - payload.dataOffset);
      assert.ok(got.every((i) => i < bad), `${where}: sink got blocks ${got}, first bad is ${bad}`);
    }
  }
  // the variants really exercised many different checks
  assert.ok(codes.size >= 6, `codes seen: ${[...codes.keys()]}`);
}

test(`${VARIANTS} randomly corrupted variants are all rejected before any bad byte reaches the sink`, () => corruptAll(v1, VARIANTS, SEED));

test(`format 2, blocks in raw spans: ${VARIANTS2} corrupted variants, the same`, () => corruptAll(v2, VARIANTS2, SEED + 2));
