import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, zstdCompressSync } from 'node:zlib';
import { decodeBlock, encodeBlock } from '../../../shared/bundle/block-codec.ts';
import { BlockDecoder, isPlainFrame } from '../../../shared/bundle/block-decoder.ts';

const BS = 4096;
/** Blocks as an image has them: text, zeros, a repeated byte, half random. */
function blocks(): Buffer[] {
  const text = Buffer.from('#!/bin/sh\nexec /usr/bin/outpost run --config /etc/outpost/config.json\n'.repeat(80)).subarray(0, BS);
  const half = Buffer.concat([randomBytes(BS / 2), Buffer.alloc(BS / 2, 9)]);
  const short = Buffer.from('a short last block '.repeat(20));
  return [text, Buffer.alloc(BS), Buffer.alloc(BS, 0xab), half, short, text];
}
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

test('one context decodes block after block to the same bytes as decodeBlock', () => {
  const d = new BlockDecoder(BS);
  assert.equal(d.reusesContext, true, 'node:zlib internals as expected');
  for (let round = 0; round < 3; round++) {
    for (const raw of blocks()) {
      const stored = encodeBlock(raw);
      assert.ok(stored.length === raw.length || isPlainFrame(stored, raw.length), 'bundle creation writes plain frames');
      assert.deepEqual(d.decode(stored, raw.length, 'b'), raw);
    }
  }
  // with a content checksum too
  const raw = blocks()[0]!;
  const z = zstdCompressSync(raw, { params: { [constants.ZSTD_c_checksumFlag]: 1 }, pledgedSrcSize: raw.length });
  assert.equal(isPlainFrame(z, raw.length), true);
  assert.deepEqual(d.decode(z, raw.length, 'b'), raw);
  d.close();
});

test('bad stored bytes fail with decodeBlock\'s code, and the next good block still decodes', () => {
  const d = new BlockDecoder(BS);
  const raw = blocks()[0]!;
  const frame = encodeBlock(raw);
  const corrupt = Buffer.from(frame);
  corrupt[corrupt.length - 3] ^= 0xff; // inside the compressed block: still plainly one frame
  const bomb = zstdCompressSync(Buffer.alloc(64 << 20));
  const cases: Array<[string, Buffer]> = [
    ['garbage', randomBytes(frame.length)],
    ['a byte after the frame', Buffer.concat([frame, Buffer.from([0])])],
    ['a frame cut short', frame.subarray(0, frame.length - 2)],
    ['a bomb', bomb],
    ['corrupt content', corrupt],
    ['another length', encodeBlock(blocks()[4]!)],
  ];
  for (const [what, stored] of cases) {
    const want = codeOf(() => decodeBlock(stored, raw.length, 'b'));
    assert.ok(want, `${what}: decodeBlock refuses it`);
    assert.equal(codeOf(() => d.decode(stored, raw.length, 'b')), want, what);
    assert.deepEqual(d.decode(frame, raw.length, 'b'), raw, `after ${what}`);
  }
  assert.equal(isPlainFrame(Buffer.concat([frame, Buffer.from([0])]), raw.length), false);
  assert.equal(isPlainFrame(frame, raw.length - 1), false);
  d.close();
});

test('a frame that decoded to zeros: the same bytes again are zeros; any other frame decodes as itself', () => {
  const d = new BlockDecoder(BS);
  const zeros = encodeBlock(Buffer.alloc(BS));
  const text = blocks()[0]!;
  const shortZeros = Buffer.alloc(100);
  const checksummed = zstdCompressSync(Buffer.alloc(BS), { params: { [constants.ZSTD_c_checksumFlag]: 1 }, pledgedSrcSize: BS });
  const flipped = Buffer.from(zeros);
  flipped[flipped.length - 1] ^= 0x01;
  // after other blocks filled the decoder's buffer, the known frame must still give zeros
  const order: Array<[Buffer, Buffer]> = [
    [zeros, Buffer.alloc(BS)], [zeros, Buffer.alloc(BS)], [encodeBlock(text), text], [zeros, Buffer.alloc(BS)],
    [encodeBlock(Buffer.alloc(BS, 0xab)), Buffer.alloc(BS, 0xab)], [zeros, Buffer.alloc(BS)],
    [encodeBlock(shortZeros), shortZeros], [encodeBlock(text), text], [checksummed, Buffer.alloc(BS)], [encodeBlock(text), text], [checksummed, Buffer.alloc(BS)],
  ];
  for (const [k, [stored, raw]] of order.entries()) assert.deepEqual(d.decode(stored, raw.length, 'b'), raw, `block ${k}`);
  // the known frame's bytes with one changed are not zeros from memory: zstd decides
  const want = codeOf(() => decodeBlock(flipped, BS, 'b'));
  const got = codeOf(() => d.decode(flipped, BS, 'b'));
  if (want) assert.equal(got, want);
  else assert.deepEqual(d.decode(flipped, BS, 'b'), decodeBlock(flipped, BS, 'b'));
  // the same frame for another length: decoded, and refused as decodeBlock refuses it
  assert.deepEqual(d.decode(zeros, BS, 'b'), Buffer.alloc(BS)); // the frame known again
  assert.equal(codeOf(() => d.decode(zeros, BS / 2, 'b')), codeOf(() => decodeBlock(zeros, BS / 2, 'b')));
  assert.ok(codeOf(() => d.decode(zeros, BS / 2, 'b')), 'a frame declaring 4 KiB is not a block of 2 KiB');
  assert.deepEqual(d.decode(zeros, BS, 'b'), Buffer.alloc(BS));
  d.close();
});
