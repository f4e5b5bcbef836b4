// What the node already holds: the sha256 of every block-aligned block of its local slots (the
// booted one, and the target, which may hold an interrupted attempt), and of every aligned group
// of blocks, so a delta can look a block up by content at any block-aligned offset: first where
// it sits in the new image (most unchanged blocks have not moved), then anywhere. The tables live
// in scratch files (key-file.ts) where the disk has room, else in memory (key-table.ts). Lookups
// are only candidates: a block read from a slot is checked against the signed index before use.
import { hash } from 'node:crypto';
import { open, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '../../../shared/errors.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { readFileChunks } from '../../bundle/file-chunks.ts';
import { blockTableOf } from '../../../shared/bundle/stored-index.ts';
import { KeyFile, keyFilePaths } from './key-file.ts';
import { KeyTable, type LocalKeys } from './key-table.ts';

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
/** Name prefix of the scratch files (scratchFor). */
const SCRATCH = 'delta-local';
/** The two tables' names after it. */
const TABLES = ['blocks', 'groups'] as const;

/** Whole units (blocks, or groups) of `unit` bytes in the files: the most entries a table gets. */
function unitsIn(files: readonly LocalFile[], unit: number): number {
  return files.reduce((n, f) => n + Math.floor(Math.max(0, f.length) / unit), 0);
}

export class LocalIndex {
  readonly blockSize: number;
  readonly groupBlocks: number;
  readonly #blocks: LocalKeys;
  readonly #groups: LocalKeys;
  /** Per scanned file: its first position in #blocks and in #groups (positions run in scan order). */
  readonly #starts: Array<{ file: number; block: number; group: number }> = [];
  readonly #files: FileHandle[] = [];
  /** Bytes hashed while scanning. */
  scanned = 0;
  readonly #addBlock = (d: string) => void this.#blocks.add(d);

  private constructor(blockSize: number, groupBlocks: number, files: readonly LocalFile[], scratch: string | null) {
    this.blockSize = blockSize;
    this.groupBlocks = groupBlocks;
    this.#blocks = scratch ? new KeyFile(`${scratch}-${TABLES[0]}`) : new KeyTable(unitsIn(files, blockSize));
    try {
      this.#groups = scratch ? new KeyFile(`${scratch}-${TABLES[1]}`) : new KeyTable(unitsIn(files, blockSize * groupBlocks));
    } catch (err) {
      this.#blocks.close();
      throw err;
    }
  }

  /**
   * Hashes each file's blocks; a file that cannot be opened is skipped (it only costs savings).
   * The tables go to files named from `scratch` (a path prefix), removed by close(), and failing
   * to write them throws E_STATE_WRITE; null keeps them in memory (8 bytes a block).
   */
  static async scan(files: readonly LocalFile[], blockSize: number, groupBlocks: number, scratch: string | null, signal: AbortSignal): Promise<LocalIndex> {
    const ix = new LocalIndex(blockSize, groupBlocks, files, scratch);
    try {
      for (const f of files) await ix.#scanFile(f, signal);
      ix.#blocks.finish();
      ix.#groups.finish();
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

  /** Position `unit` (a block or group of the image) has in each scanned file whose key there is the digest's, or -1. */
  #samePlace(t: LocalKeys, kind: 'block' | 'group', table: Buffer, at: number, unit: number): number {
    const s = this.#starts;
    for (let f = 0; f < s.length; f++) {
      const pos = s[f]![kind] + unit;
      if (pos < (f + 1 < s.length ? s[f + 1]![kind] : t.size) && t.keyIs(pos, table, at)) return pos;
    }
    return -1;
  }

  /**
   * Position of a local block whose digest may be the one at `at` in `table` (that of block
   * `block` of the image), or -1. A position, not a LocalRef: a window plans every block of its
   * changed groups, and an object per block lived as long as the window, past V8's young generation.
   */
  findBlock(table: Buffer, at: number, block: number): number {
    const here = this.#samePlace(this.#blocks, 'block', table, at, block);
    return here >= 0 ? here : this.#blocks.find(table, at);
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

  /** A group-aligned run of groupBlocks blocks whose group digest may be `digest` (that of group `g` of the image). */
  findGroup(digest: Buffer, g: number): LocalRef | null {
    const here = this.#samePlace(this.#groups, 'group', digest, 0, g);
    return this.#ref(here >= 0 ? here : this.#groups.find(digest), 'group');
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
    this.#blocks.close();
    this.#groups.close();
    for (const f of this.#files.splice(0)) await f.close().catch(() => {});
  }
}

/**
 * Where the tables of `files` go: a prefix in `dir` when they take at most a quarter of its free
 * space (positions and sorted keys, 8 bytes each a block and a group, plus as much while the sorted
 * runs merge), else null (memory). The state directory's checkpoints and logs need room too.
 */
export async function scratchFor(dir: string, files: readonly LocalFile[], blockSize: number, groupBlocks: number): Promise<string | null> {
  const units = unitsIn(files, blockSize) + unitsIn(files, blockSize * groupBlocks);
  try {
    const s = await statfs(dir);
    return 3 * 8 * units <= (s.bavail * s.bsize) / 4 ? join(dir, SCRATCH) : null;
  } catch {
    return null;
  }
}

/** Where a delivery keeps the verified head it pages its index from before the journal has a copy. */
export function scratchHeadPath(dir: string): string {
  return join(dir, `${SCRATCH}-head`);
}

/** Removes the scratch files an interrupted delivery (a power cut, a kill) left in `dir`. */
export async function clearScratch(dir: string): Promise<void> {
  const names = [scratchHeadPath(dir), ...TABLES.flatMap((t) => Object.values(keyFilePaths(join(dir, `${SCRATCH}-${t}`))))];
  await Promise.all(names.map((f) => rm(f, { force: true }).catch(() => {})));
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
