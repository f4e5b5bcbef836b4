// What the node already holds: the sha256 of every block-aligned block of its local slots (the
// booted one, and the target, which may hold an interrupted attempt), and of every aligned group
// of blocks, so a delta can look a block up by content at any block-aligned offset. Lookups are
// only candidates: a block read from a slot is checked against the signed index before use.
import { createHash, hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';

export interface LocalFile {
  readonly path: string;
  /** Bytes to scan (at most the file's or device's size). */
  readonly length: number;
}

export interface LocalRef {
  readonly file: number;
  readonly offset: number;
}

const READ = 1 << 20;
const FILE_UNIT = 2 ** 44; // offsets below 16 TiB; at most a few files, so the product stays a safe integer

function pack(file: number, offset: number): number {
  return file * FILE_UNIT + offset;
}

function unpack(v: number | undefined): LocalRef | null {
  return v === undefined ? null : { file: Math.floor(v / FILE_UNIT), offset: v % FILE_UNIT };
}

/** 48 bits of a digest: enough to find candidates; the full digest decides. */
function key(d: Buffer): number {
  return d.readUIntBE(0, 6);
}

export class LocalIndex {
  readonly blockSize: number;
  readonly groupBlocks: number;
  // Values pack file and offset in one number (file × 2^44 + offset): no object per block.
  readonly #blocks = new Map<number, number>();
  readonly #groups = new Map<number, number>();
  readonly #files: FileHandle[] = [];
  /** Bytes hashed while scanning. */
  scanned = 0;

  private constructor(blockSize: number, groupBlocks: number) {
    this.blockSize = blockSize;
    this.groupBlocks = groupBlocks;
  }

  /** Hashes each file's blocks; a file that cannot be opened is skipped (it only costs savings). */
  static async scan(files: readonly LocalFile[], blockSize: number, groupBlocks: number, signal: AbortSignal): Promise<LocalIndex> {
    const ix = new LocalIndex(blockSize, groupBlocks);
    try {
      for (const f of files) await ix.#scanFile(f, signal);
    } catch (err) {
      await ix.close();
      throw err;
    }
    return ix;
  }

  async #scanFile(f: LocalFile, signal: AbortSignal): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(f.path, 'r');
    } catch {
      return;
    }
    const file = this.#files.push(fh) - 1;
    const groupBytes = this.blockSize * this.groupBlocks;
    const buf = Buffer.allocUnsafe(Math.max(READ, groupBytes));
    const usable = Math.floor(buf.length / groupBytes) * groupBytes;
    for (let pos = 0; pos + this.blockSize <= f.length; ) {
      signal.throwIfAborted();
      const want = Math.min(usable, Math.floor((f.length - pos) / this.blockSize) * this.blockSize);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      const n = Math.floor(bytesRead / this.blockSize) * this.blockSize;
      if (n === 0) break;
      for (let at = 0; at < n; at += groupBytes) {
        const digests: Buffer[] = [];
        for (let b = at; b < Math.min(n, at + groupBytes); b += this.blockSize) {
          const d = hash('sha256', buf.subarray(b, b + this.blockSize), 'buffer');
          digests.push(d);
          const k = key(d);
          if (!this.#blocks.has(k)) this.#blocks.set(k, pack(file, pos + b));
        }
        if (digests.length === this.groupBlocks) {
          const g = createHash('sha256').update(Buffer.concat(digests)).digest();
          if (!this.#groups.has(key(g))) this.#groups.set(key(g), pack(file, pos + at));
        }
      }
      pos += n;
      this.scanned += n;
    }
  }

  findBlock(digest: Buffer): LocalRef | null {
    return unpack(this.#blocks.get(key(digest)));
  }

  /** A group-aligned run of groupBlocks blocks whose group digest may be `digest`. */
  findGroup(digest: Buffer): LocalRef | null {
    return unpack(this.#groups.get(key(digest)));
  }

  async read(ref: LocalRef, length: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(length);
    try {
      const { bytesRead } = await this.#files[ref.file]!.read(b, 0, length, ref.offset);
      return b.subarray(0, bytesRead);
    } catch (err) {
      throw new OutpostError('E_SLOT_READ', `cannot read a local block at ${ref.offset}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    for (const f of this.#files.splice(0)) await f.close().catch(() => {});
  }
}

/** Size of a slot file or device, or 0 when it cannot be read (no local blocks from it). */
export async function localLength(path: string, size: () => Promise<number>): Promise<number> {
  try {
    await stat(path);
    return await size();
  } catch {
    return 0;
  }
}
