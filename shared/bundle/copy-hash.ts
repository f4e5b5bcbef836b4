// One pass over an image for `bundle create`: each chunk is read once into a shared buffer, then
// its blocks are hashed on this thread, the whole-image sha256 is updated on a worker thread
// (digest-worker.ts) and the chunk is written to the bundle at its final offset, all at once; the
// next chunk is read meanwhile. A few chunks are in flight, none is copied.
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { WholeDigest } from './digest-worker.ts';

const CHUNK = 1 << 20;
const SLOTS = 4;

export interface Hashed {
  readonly size: number;
  readonly sha256: string;
  /** Concatenated block digests. */
  readonly index: Buffer;
}

async function writeAll(out: FileHandle, data: Buffer, at: number): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await out.write(data, done, data.length - done, at + done)).bytesWritten;
}

/** Copies `size` bytes of the file at `path` to `out` at `at`, hashing blocks and the whole. */
export async function copyAndHash(path: string, size: number, blockSize: number, out: FileHandle, at: number, signal?: AbortSignal): Promise<Hashed> {
  const sab = new SharedArrayBuffer(SLOTS * CHUNK);
  const whole = new WholeDigest(sab);
  const input = await open(path, 'r');
  const free: Array<Promise<unknown>> = Array.from({ length: SLOTS }, () => Promise.resolve());
  const digests: Buffer[] = [];
  let block = createHash('sha256');
  let inBlock = 0;
  const changed = () => new OutpostError('E_BUNDLE_CREATE', `image ${path} changed while the bundle was being written`);
  const read = (k: number) => {
    const slot = k % SLOTS;
    const want = Math.min(CHUNK, size - k * CHUNK);
    return free[slot]!.then(async () => {
      const { bytesRead } = await input.read(Buffer.from(sab, slot * CHUNK, want), 0, want, k * CHUNK);
      if (bytesRead !== want) throw changed();
      return Buffer.from(sab, slot * CHUNK, want);
    });
  };
  try {
    const chunks = Math.ceil(size / CHUNK);
    let pending = read(0);
    pending.catch(() => {});
    for (let k = 0; k < chunks; k++) {
      signal?.throwIfAborted();
      const chunk = await pending;
      if (k + 1 < chunks) {
        pending = read(k + 1); // on the thread pool while this chunk is hashed
        pending.catch(() => {}); // awaited next round
      }
      const hashed = whole.update((k % SLOTS) * CHUNK, chunk.length);
      for (let off = 0; off < chunk.length; ) {
        const n = Math.min(blockSize - inBlock, chunk.length - off);
        block.update(chunk.subarray(off, off + n));
        inBlock += n;
        off += n;
        if (inBlock === blockSize) {
          digests.push(block.digest());
          block = createHash('sha256');
          inBlock = 0;
        }
      }
      free[k % SLOTS] = Promise.all([hashed, writeAll(out, chunk, at + k * CHUNK)]);
      free[k % SLOTS]!.catch(() => {}); // awaited below or by the next read of this slot
    }
    await Promise.all(free);
    if (inBlock > 0) digests.push(block.digest());
    return { size, sha256: await whole.digest(), index: Buffer.concat(digests) };
  } finally {
    await Promise.allSettled(free);
    await input.close();
    await whole.close();
  }
}
