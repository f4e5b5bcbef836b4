// A block of zeros is compared with zeros, not hashed: the digest must be sha256's all the same,
// for every length, and a single byte other than zero anywhere must give the block's own hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { blockDigestLatin1, isZeros, zeroDigestLatin1, zeroGroupDigestLatin1 } from '../../../shared/bundle/block-digest.ts';
import { blockTableOf, digestIs, groupDigestOf } from '../../../shared/bundle/stored-index.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest().toString('latin1');
// around the 64 KiB slice the compare works in, and a format-1 sized block
const LENGTHS = [0, 1, 2, 4095, 4096, 65535, 65536, 65537, 3 * 65536 + 7, 1 << 20];

test('zeros of any length: the digest is sha256 of the zeros', () => {
  for (const n of LENGTHS) {
    const z = Buffer.alloc(n);
    assert.equal(isZeros(z), true, `${n}`);
    assert.equal(blockDigestLatin1(z), sha(z), `${n}`);
    assert.equal(blockDigestLatin1(z), sha(z), `${n}, a second time (the known digest)`); // cached per length
  }
});

test('one byte other than zero, at any place: not zeros, and the block is hashed', () => {
  const r = seededRandom(3);
  for (const n of LENGTHS.filter((x) => x > 0)) {
    const places = [0, n - 1, Math.floor(n / 2), Math.min(n - 1, 65536), Math.min(n - 1, 65535), Math.floor(r() * n)];
    for (const at of places) {
      const b = Buffer.alloc(n);
      b[at] = 1 + Math.floor(r() * 255);
      assert.equal(isZeros(b), false, `${n} at ${at}`);
      assert.equal(blockDigestLatin1(b), sha(b), `${n} at ${at}`);
    }
  }
});

test('a view into a larger buffer: only its own bytes count', () => {
  const big = Buffer.alloc(3 * 4096, 7);
  big.fill(0, 4096, 8192);
  const mid = big.subarray(4096, 8192);
  assert.equal(isZeros(mid), true);
  assert.equal(blockDigestLatin1(mid), sha(Buffer.alloc(4096)));
  assert.equal(isZeros(big.subarray(4095, 8192)), false);
  assert.equal(isZeros(big.subarray(4096, 8193)), false);
});

test('block tables and digest checks: zeros and other blocks as sha256 gives them; a flipped zero fails', () => {
  const r = seededRandom(9);
  const bs = 4096;
  const data = Buffer.alloc(8 * bs);
  for (const k of [1, 4, 6]) for (let i = 0; i < bs; i++) data[k * bs + i] = Math.floor(r() * 256);
  const table = blockTableOf(data, bs, Buffer.alloc(8 * 32));
  for (let k = 0; k < 8; k++) {
    const block = data.subarray(k * bs, (k + 1) * bs);
    assert.equal(table.toString('latin1', k * 32, (k + 1) * 32), sha(block), `block ${k}`);
    assert.equal(digestIs(block, table.subarray(k * 32, (k + 1) * 32)), true);
  }
  const zeroDigest = table.subarray(0, 32);
  const flipped = Buffer.alloc(bs);
  flipped[bs - 2] = 0x80;
  assert.equal(digestIs(flipped, zeroDigest), false);
  assert.equal(digestIs(Buffer.alloc(bs), table.subarray(32, 64)), false, 'zeros against another block\'s digest');
});

test('the digests of zeros a delta writes without reading: a block\'s, and a group\'s over its block table', () => {
  for (const [bs, gb] of [[4096, 16], [4096, 1], [65536, 4]] as const) {
    assert.equal(zeroDigestLatin1(bs), sha(Buffer.alloc(bs)));
    const table = blockTableOf(Buffer.alloc(bs * gb), bs, Buffer.alloc(gb * 32));
    assert.equal(zeroGroupDigestLatin1(bs, gb), groupDigestOf(table).toString('latin1'), `${bs} × ${gb}`);
  }
});
