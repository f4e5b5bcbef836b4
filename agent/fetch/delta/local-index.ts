// What the node already holds: the sha256 of every block-aligned block of its local slots (the
// booted one, and the target, which may hold an interrupted attempt), and of every aligned group
// of blocks, so a delta can look a block up by content at any block-aligned offset. Lookups are
// only candidates: a block read from a slot is checked against the signed index before use.
import { hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { readFileChunks } from '../../bundle/file-chunks.ts';

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

/** key() of a digest held as a 'binary' string. */
function keyOf(d: string): number {
  return d.charCodeAt(0) * 2 ** 40 + d.charCodeAt(1) * 2 ** 32 + ((d.charCodeAt(2) << 24) >>> 0) + (d.charCodeAt(3) << 16) + (d.charCodeAt(4) << 8) + d.charCodeAt(5);
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
    const whole = Math.floor(f.length / this.blockSize) * this.blockSize;
    if (whole === 0) return;
    // Chunks of whole groups, the next one read while this one is hashed (reading and hashing
    // one after the other left the scan waiting on the disk half of the time).
    const chunk = Math.max(1, Math.floor(READ / groupBytes)) * groupBytes;
    const table = Buffer.allocUnsafe(groupBytes / this.blockSize * DIGEST_BYTES);
    let pos = 0;
    for await (const buf of readFileChunks(f.path, { end: whole - 1, chunk, signal })) {
      const n = Math.floor(buf.length / this.blockSize) * this.blockSize;
      for (let at = 0; at < n; at += groupBytes) {
        let k = 0;
        for (let b = at; b < Math.min(n, at + groupBytes); b += this.blockSize, k++) {
          // a 'binary' (latin1) string per digest: a Buffer each costs more than hashing 4 KiB
          const d = hash('sha256', buf.subarray(b, b + this.blockSize), 'binary');
          table.write(d, k * DIGEST_BYTES, 'latin1');
          const key = keyOf(d);
          if (!this.#blocks.has(key)) this.#blocks.set(key, pack(file, pos + b));
        }
        if (k === this.groupBlocks) {
          const key = keyOf(hash('sha256', table, 'binary'));
          if (!this.#groups.has(key)) this.#groups.set(key, pack(file, pos + at));
        }
      }
      pos += n;
      this.scanned += n;
      if (n < buf.length) break; // the device ended early
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
