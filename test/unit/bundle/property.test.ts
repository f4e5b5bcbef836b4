// Property: corrupt a real bundle at random (1–3 bytes, anywhere, with extra weight on the head)
// and every variant is rejected; the sink never receives a block at or after the first corrupted
// one, never a byte that differs from the original image, and never end().
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
let dir: string;
let made: MadeBundle;
let good: Buffer;
let image: Buffer;
let trust: TrustStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-property-'));
  const keys = await devKeys(['dev-a']);
  const img = await makeImage(join(dir, 'rootfs.img'), 6 * BS + 300, 21);
  image = await readFile(img);
  made = await makeBundle({ image: img, out: join(dir, 'b.bundle'), keys, blockSize: BS });
  good = await readFile(made.path);
  trust = (await makeTrustDir(join(dir, 'trust'), keys)).store;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});


async function* chunks(b: Buffer, size: number) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

test(`${VARIANTS} randomly corrupted variants are all rejected before any bad byte reaches the sink`, async () => {
  const random = seededRandom(SEED);
  const payload = made.layout.entries.find((e) => e.kind === 'payload')!;
  const headWeighted = made.layout.headSize + 1024;
  const codes = new Map<string, number>();
  for (let v = 0; v < VARIANTS; v++) {
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
      const bad = Math.floor((first - payload.dataOffset) / BS);
      assert.ok(got.every((i) => i < bad), `${where}: sink got blocks ${got}, first bad is ${bad}`);
    }
  }
  // the variants really exercised many different checks
  assert.ok(codes.size >= 6, `codes seen: ${[...codes.keys()]}`);
});
