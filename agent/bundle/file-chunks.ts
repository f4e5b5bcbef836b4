// A file (or a byte range of it) as chunks read into two reused buffers, one read ahead: the
// kernel fills the next chunk on the thread pool while the caller works on this one. Unlike
// fs.createReadStream, nothing is allocated per chunk, so reading a 4 GiB bundle leaves no
// garbage behind. A yielded chunk is valid only until the caller asks for the next one: the
// bundle reader copies what it keeps (reader.ts), so it may consume these directly.
import { open } from 'node:fs/promises';

// 256 KiB, not 512: the kernel's copy out of the page cache is half as costly when the two
// buffers fit the core's L2 cache (here 512 KiB): 256 MiB read and hashed in 4 KiB blocks, 4 runs
// each, 37–82 ms of system time against 152–190 ms; an install from a file 0.80 → 0.65 s CPU.
export const FILE_CHUNK = 256 << 10;

export interface FileChunkOptions {
  /** First byte (default 0). */
  readonly start?: number;
  /** Last byte, inclusive (default: to the end of the file). */
  readonly end?: number;
  readonly chunk?: number;
  readonly signal?: AbortSignal;
}

export async function* readFileChunks(path: string, opts: FileChunkOptions = {}): AsyncGenerator<Buffer> {
  const size = opts.chunk ?? FILE_CHUNK;
  const end = opts.end ?? Infinity;
  opts.signal?.throwIfAborted();
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let pos = opts.start ?? 0;
  let turn = 0;
  const readAt = (at: number, buf: Buffer) => fh.read(buf, 0, Math.max(0, Math.min(size, end + 1 - at)), at);
  let next: ReturnType<typeof readAt> | null = readAt(pos, bufs[turn]!);
  try {
    while (next) {
      const { bytesRead, buffer } = await next;
      next = null;
      if (bytesRead === 0) return;
      pos += bytesRead;
      turn ^= 1;
      if (pos <= end) next = readAt(pos, bufs[turn]!); // into the other buffer, while the caller works
      opts.signal?.throwIfAborted();
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await next?.catch(() => {}); // never close the file under a read in flight
    await fh.close();
  }
}
