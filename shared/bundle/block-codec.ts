// Format-2 block storage: each block is one zstd frame, or its raw bytes when compression does
// not make it smaller (a stored size equal to the block's length means raw). Decoding is bounded
// by the block's length, so a frame that inflates further (a bomb) stops at that many bytes.
import { constants, zstdCompressSync, zstdDecompressSync, type ZstdOptions } from 'node:zlib';
import { OutpostError } from '../errors.ts';

export const DEFAULT_ZSTD_LEVEL = 3;

/** The stored form of one raw block. */
export function encodeBlock(raw: Buffer, level = DEFAULT_ZSTD_LEVEL): Buffer {
  const z = zstdCompressSync(raw, encodeOptions(raw.length, level));
  return z.length < raw.length ? z : raw;
}

// One options object per (block length, level), not one per block: zlib validates every field
// of it on each call, and bundle creation calls this for every 4 KiB block.
const optionsCache = new Map<number, ZstdOptions>();

function encodeOptions(length: number, level: number): ZstdOptions {
  const key = length * 32 + level;
  let o = optionsCache.get(key);
  if (!o) {
    // chunkSize: one output buffer a little larger than the block (a frame that does not fit is
    // not kept anyway) instead of zlib's 16 KiB default, allocated and dropped for every block.
    o = { chunkSize: length + 256, params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0 } };
    if (optionsCache.size >= 64) optionsCache.clear(); // odd tail lengths must not pile up
    optionsCache.set(key, o);
  }
  return o;
}

/**
 * The raw block from its stored form; `where` names it in errors. Never returns more than
 * `rawLength` bytes, and the caller still checks the result against the block's digest.
 */
export function decodeBlock(stored: Buffer, rawLength: number, where: string): Buffer {
  if (stored.length === rawLength) return stored;
  if (stored.length > rawLength) {
    throw new OutpostError('E_BUNDLE_STORED_SIZE', `${where}: stored size ${stored.length} exceeds the block's ${rawLength} bytes`);
  }
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // chunkSize: the block's own length (zlib's minimum 64) rather than a 16 KiB buffer per block
    out = zstdDecompressSync(stored, { maxOutputLength: rawLength, chunkSize: Math.max(64, rawLength), info: true }) as unknown as typeof out;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new OutpostError('E_BUNDLE_BOMB', `${where}: inflates past its declared ${rawLength} bytes`, { cause: err });
    }
    throw new OutpostError('E_BUNDLE_DECOMPRESS', `${where}: not a valid zstd frame of ${stored.length} bytes: ${(err as Error).message}`, { cause: err });
  }
  // One frame, exactly filling the stored size: trailing bytes would be unsigned slack.
  if (out.engine.bytesWritten !== stored.length) {
    throw new OutpostError('E_BUNDLE_DECOMPRESS', `${where}: the zstd frame ends after ${out.engine.bytesWritten} of ${stored.length} stored bytes`);
  }
  if (out.buffer.length !== rawLength) {
    throw new OutpostError('E_BUNDLE_DECOMPRESS', `${where}: inflates to ${out.buffer.length} bytes, the block has ${rawLength}`);
  }
  return out.buffer;
}
