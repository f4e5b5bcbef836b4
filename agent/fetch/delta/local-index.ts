// What the node already holds: the sha256 of every block-aligned block of its local slots (the
// booted one, and the target, which may hold an interrupted attempt), and of every aligned group
// of blocks, so a delta can look a block up by content at any block-aligned offset. Lookups are
// only candidates: a block read from a slot is checked against the signed index before use.
import { hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { readFileChunks } from '../../bundle/file-chunks.ts';
import { blockTableOf } from '../../../shared/bundle/stored-index.ts';
import { KeyTable } from './key-table.ts';

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

export class LocalIndex {
  readonly blockSize: number;
  readonly groupBlocks: number;
  readonly #blocks: KeyTable;
  readonly #groups: KeyTable;
  /** Per scanned file: its first position in #blocks and in #groups (positions run in scan order). */
  readonly #starts: Array<{ file: number; block: number; group: number }> = [];
  readonly #files: FileHandle[] = [];
  /** Bytes hashed while scanning. */
  scanned = 0;
  readonly #addBlock = (d: string) => void this.#blocks.add(d);

  private constructor(blockSize: number, groupBlocks: number, files: readonly LocalFile[]) {
    this.blockSize = blockSize;
    this.groupBlocks = groupBlocks;
    const sum = (unit: number) => files.reduce((n, f) => n + Math.floor(Math.max(0, f.length) / unit), 0);
    this.#blocks = new KeyTable(sum(blockSize));
    this.#groups = new KeyTable(sum(blockSize * groupBlocks));
  }

  /** Hashes each file's blocks; a file that cannot be opened is skipped (it only costs savings). */
  static async scan(files: readonly LocalFile[], blockSize: number, groupBlocks: number, signal: AbortSignal): Promise<LocalIndex> {
    const ix = new LocalIndex(blockSize, groupBlocks, files);
    try {
      for (const f of files) await ix.#scanFile(f, signal);
    } catch (err) {
      await ix.close();
      throw err;
    }
    return ix; // sorted at their first lookup: deciding on a delta looks up groups only
  }

  async #scanFile(f: LocalFile, signal: AbortSignal): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(f.path, 'r');
    } catch {
      return;
    }
    const file = this.#files.push(fh) - 1;
    this.#starts.push({ file, block: this.#blocks.size, group: this.#groups.size });
    const groupBytes = this.blockSize * this.groupBlocks;
    const whole = Math.floor(f.length / this.blockSize) * this.blockSize;
    if (whole === 0) return;
    // Chunks of whole groups, the next one read while this one is hashed.
    const chunk = Math.max(1, Math.floor(READ / groupBytes)) * groupBytes;
    const table = Buffer.allocUnsafe(this.groupBlocks * DIGEST_BYTES);
    for await (const buf of readFileChunks(f.path, { end: whole - 1, chunk, signal })) {
      const n = Math.floor(buf.length / this.blockSize) * this.blockSize;
      for (let at = 0; at < n; at += groupBytes) {
        const t = blockTableOf(buf.subarray(at, Math.min(n, at + groupBytes)), this.blockSize, table, this.#addBlock);
        if (t.length === table.length) this.#groups.add(hash('sha256', t, 'binary'));
      }
      this.scanned += n;
      if (n < buf.length) break; // the device ended early
    }
  }

  /** The scanned file the position-th entry of a table (blocks or groups, in scan order) lies in. */
  #start(pos: number, kind: 'block' | 'group'): { file: number; block: number; group: number } {
    let s = this.#starts[0]!;
    for (const t of this.#starts) if (t[kind] <= pos) s = t;
    return s;
  }

  /** Where the position-th entry of a table lies. */
  #ref(pos: number, kind: 'block' | 'group'): LocalRef | null {
    if (pos < 0) return null;
    const s = this.#start(pos, kind);
    const unit = kind === 'block' ? this.blockSize : this.blockSize * this.groupBlocks;
    return { file: s.file, offset: (pos - s[kind]) * unit };
  }

  /**
   * Position of a local block whose digest may be the one at `at` in `table`, or -1. A position,
   * not a LocalRef: a window plans every block of its changed groups, and an object per block
   * lived as long as the window, past V8's young generation.
   */
  findBlock(table: Buffer, at: number): number {
    return this.#blocks.find(table, at);
  }

  /** File of block position `pos` (findBlock). */
  blockFile(pos: number): number {
    return this.#start(pos, 'block').file;
  }

  /** Offset of block position `pos` in its file. */
  blockOffset(pos: number): number {
    return (pos - this.#start(pos, 'block').block) * this.blockSize;
  }

  blockRef(pos: number): LocalRef {
    return this.#ref(pos, 'block')!;
  }

  /** A group-aligned run of groupBlocks blocks whose group digest may be `digest`. */
  findGroup(digest: Buffer): LocalRef | null {
    return this.#ref(this.#groups.find(digest), 'group');
  }

  /** Reads `length` bytes at ref into `into` (a fresh buffer when not given); short at the end of the file. */
  async read(ref: LocalRef, length: number, into?: Buffer): Promise<Buffer> {
    const b = into ?? Buffer.allocUnsafe(length);
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
