// decodeBlock() for many blocks in a row. zstdDecompressSync() builds a stream and a zstd context
// per call; for 4 KiB blocks that, and the garbage it leaves, cost three times the decoding itself
// (a 256 MiB filesystem image: 2.7 s of CPU to install in all). BlockDecoder keeps one context and
// drives it through the stream's native handle (zstd-handle.ts), as node:zlib's sync path does. That handle is
// node-internal: when it is not as expected, or a probe frame does not decode, every block goes
// through decodeBlock(). Only frames that are plainly one frame declaring the block's length
// (isPlainFrame) take the fast path, and anything unexpected there (an error, input left over,
// another length) drops the context and decodes that block again with decodeBlock(), which names
// the fault. Either way the caller still checks the bytes against the signed block digest.
// A frame that decoded to zeros is kept: the next block stored as the very same bytes is zeros
// too (decoding is deterministic), without a call into zstd. An image's free space is thousands
// of such blocks: 50,000 of them took 54–79 ms through zstd, 14–42 ms this way.
import { createZstdDecompress, zstdCompressSync } from 'node:zlib';
import { decodeBlock } from './block-codec.ts';
import { isZeros } from './block-digest.ts';
import { nativeZstd, type NativeZstd } from './zstd-handle.ts';

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * True when `stored` is exactly one zstd frame (RFC 8878 §3.1.1: header, blocks up to the last,
 * checksum) without a dictionary, declaring `rawLength` as its content size — what bundle creation
 * writes. Reads headers only. The decoder enforces a declared size, so such a frame decodes to
 * `rawLength` bytes or fails.
 */
export function isPlainFrame(stored: Buffer, rawLength: number): boolean {
  if (stored.length < 6 || stored.readUInt32LE(0) !== ZSTD_MAGIC) return false;
  const fhd = stored[4]!;
  const single = (fhd >> 5) & 1;
  if ((fhd & 0x08) !== 0 || (fhd & 0x03) !== 0) return false; // reserved bit set, or a dictionary id
  let at = 5 + (single ? 0 : 1); // window descriptor unless single-segment
  const fcsBytes = [single, 2, 4, 8][fhd >> 6]!;
  if (fcsBytes === 0 || at + fcsBytes > stored.length) return false; // the content size must be declared
  const fcs = fcsBytes === 1 ? stored[at]! : fcsBytes === 2 ? stored.readUInt16LE(at) + 256 : fcsBytes === 4 ? stored.readUInt32LE(at) : Number(stored.readBigUInt64LE(at));
  if (fcs !== rawLength) return false;
  at += fcsBytes;
  for (;;) {
    if (at + 3 > stored.length) return false;
    const h = stored[at]! | (stored[at + 1]! << 8) | (stored[at + 2]! << 16);
    const type = (h >> 1) & 3;
    if (type === 3) return false; // reserved block type
    at += 3 + (type === 1 ? 1 : h >>> 3); // RLE blocks hold one byte
    if (h & 1) break; // last block
  }
  return at + ((fhd >> 2) & 1) * 4 === stored.length; // content checksum, then nothing
}

interface Engine {
  readonly stream: ReturnType<typeof createZstdDecompress>;
  readonly native: NativeZstd;
}

function openEngine(): Engine | null {
  const stream = createZstdDecompress();
  stream.on('error', () => {}); // a failed block is seen through the handle being dropped
  const native = nativeZstd(stream);
  if (native) return { stream, native };
  stream.destroy();
  return null;
}

/** Frames longer than this are not kept: zstd stores a block of zeros in a few dozen bytes. */
const ZERO_FRAME_MAX = 64;

export class BlockDecoder {
  readonly #out: Buffer;
  #engine: Engine | null = null;
  #usable: boolean;
  /** The last frame that decoded to zeros, and its raw length. */
  #zeroFrame: Buffer | null = null;
  #zeroLength = 0;

  /** maxBlock: the largest raw block it will be given the fast path for. */
  constructor(maxBlock = 64 * 1024) {
    this.#out = Buffer.allocUnsafe(maxBlock + 1); // one byte more: a frame that overflows shows
    this.#usable = true;
    const probe = Buffer.from('outpost block decoder probe '.repeat(40));
    const frame = zstdCompressSync(probe, { pledgedSrcSize: probe.length });
    const got = isPlainFrame(frame, probe.length) ? this.#fast(frame, probe.length) : null;
    this.#usable = got !== null && got.equals(probe);
    if (!this.#usable) this.close();
  }

  /** False when every block goes through decodeBlock() (node's zlib internals changed). */
  get reusesContext(): boolean {
    return this.#usable;
  }

  /** decodeBlock(), same results and errors; the bytes returned are valid until the next call. */
  decode(stored: Buffer, rawLength: number, where: string): Buffer {
    const z = this.#zeroFrame;
    if (z !== null && rawLength === this.#zeroLength && stored.length === z.length && stored.equals(z)) return this.#out.fill(0, 0, rawLength).subarray(0, rawLength);
    let raw: Buffer;
    if (stored.length === rawLength || !this.#usable || rawLength >= this.#out.length || !isPlainFrame(stored, rawLength)) {
      raw = decodeBlock(stored, rawLength, where);
    } else raw = this.#fast(stored, rawLength) ?? decodeBlock(stored, rawLength, where);
    if (stored.length <= ZERO_FRAME_MAX && stored.length < rawLength && raw.length === rawLength && rawLength < this.#out.length && isZeros(raw)) {
      this.#zeroFrame = Buffer.from(stored); // a copy: `stored` is the caller's, reused
      this.#zeroLength = rawLength;
    }
    return raw;
  }

  #fast(stored: Buffer, rawLength: number): Buffer | null {
    const e = (this.#engine ??= openEngine());
    if (!e) return null;
    try {
      if (!e.native.alive) throw new Error('handle gone');
      const [outLeft, inLeft] = e.native.write(stored, this.#out);
      // an error drops the handle; input left or another length leaves the context mid-frame
      if (!e.native.alive || inLeft !== 0 || this.#out.length - outLeft !== rawLength) throw new Error('not one clean frame');
      return this.#out.subarray(0, rawLength);
    } catch {
      this.close(); // a fresh context for the next block
      return null;
    }
  }

  close(): void {
    this.#engine?.stream.destroy();
    this.#engine = null;
  }
}
