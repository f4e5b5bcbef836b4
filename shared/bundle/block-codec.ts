// Format-2 block storage: each block is one zstd frame, or its raw bytes when compression does
// not make it smaller (a stored size equal to the block's length means raw). Decoding is bounded
// by the block's length, so a frame that inflates further (a bomb) stops at that many bytes.
import { constants, createZstdCompress, zstdCompressSync, zstdDecompressSync, type ZstdOptions } from 'node:zlib';
import { OutpostError } from '../errors.ts';
import { nativeZstd } from './zstd-handle.ts';

export const DEFAULT_ZSTD_LEVEL = 3;

/** The stored form of one raw block. */
export function encodeBlock(raw: Buffer, level = DEFAULT_ZSTD_LEVEL): Buffer {
  const z = zstdCompressSync(raw, encodeOptions(raw.length, level));
  return z.length < raw.length ? z : raw;
}

/**
 * encodeBlock() for many blocks in a row, 40 % less CPU: zstdCompressSync() builds a stream and a
 * zstd context per call, which for 4 KiB blocks costs about as much as compressing them. This keeps
 * one context and ends a frame per block through the stream's native handle, as zlib's own sync
 * path does (zstd-handle.ts). That is node-internal:
 * should the handle not look as expected, or a probe frame differ from zstdCompressSync()'s, it
 * falls back to encodeBlock(). The frames are the same: zstd sticks the parameters to the
 * context, and an ended frame given all its input at once records its size either way.
 * The worker in compress-worker.ts does the same in plain JS.
 */
export class BlockEncoder {
  readonly #level: number;
  readonly #out: Buffer;
  #stream: ReturnType<typeof createZstdCompress> | null = null;
  #write: ((raw: Buffer) => number) | null = null;

  constructor(level = DEFAULT_ZSTD_LEVEL, maxBlock = 64 * 1024) {
    this.#level = level;
    this.#out = Buffer.alloc(2 * maxBlock + 1024); // above zstd's bound: one call ends the frame
    try {
      const stream = createZstdCompress(encodeOptions(maxBlock, level));
      this.#stream = stream;
      const native = nativeZstd(stream);
      if (!native) throw new Error('no zstd handle');
      this.#write = (raw) => {
        const [outLeft, inLeft] = native.write(raw, this.#out);
        if (inLeft !== 0 || outLeft === 0) throw new Error('zstd frame not ended in one call');
        return this.#out.length - outLeft;
      };
      const probe = Buffer.from('outpost block codec probe '.repeat(40));
      if (!this.encode(probe).equals(zstdCompressSync(probe, encodeOptions(probe.length, level)))) throw new Error('frames differ');
    } catch {
      this.close();
    }
  }

  /** False when it fell back to encodeBlock() (node's zlib internals changed). */
  get reusesContext(): boolean {
    return this.#write !== null;
  }

  /** The stored form of `raw`: `raw` itself or a view valid until the next call. */
  encode(raw: Buffer): Buffer {
    if (!this.#write) return encodeBlock(raw, this.#level);
    const n = this.#write(raw);
    return n < raw.length ? this.#out.subarray(0, n) : raw;
  }

  close(): void {
    this.#stream?.close();
    this.#stream = null;
    this.#write = null;
  }
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
