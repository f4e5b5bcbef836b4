// The format-2 block index (BUNDLE-SPEC.md §12): one sha256 per group of blocks (over the
// group's block digests, so a node can compute it from data it already has), then each block's
// stored size. Group tables with the per-block digests sit in the payload entry, just before
// their group's blocks: a full download meets each table when it needs it, a delta fetches only
// the tables of groups it could not find locally.
import { hash } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { DIGEST_BYTES, groupCount, indexEntrySize, V2_SIZE_BYTES } from './format.ts';
import { IndexPages } from './index-pages.ts';
import { blockDigestLatin1 } from './block-digest.ts';
import type { PayloadEntry } from './types.ts';

export interface GroupExtent {
  /** Offset of the group's table in the payload entry's data. */
  readonly tableOffset: number;
  readonly tableLength: number;
  readonly firstBlock: number;
  readonly blockCount: number;
}

export class StoredIndex {
  readonly entry: PayloadEntry;
  readonly groupBlocks: number;
  readonly groups: number;
  readonly #bytes: IndexPages;
  readonly #groupOffsets: Float64Array;

  /** Validates an index whose digest already matched entry.indexSha256. */
  constructor(entry: PayloadEntry, bytes: Buffer) {
    if (entry.groupBlocks === undefined || entry.storedSize === undefined) {
      throw new OutpostError('E_BUNDLE_MANIFEST', `payload ${entry.name} is not a format-2 payload`);
    }
    if (bytes.length !== indexEntrySize(entry)) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `block index of ${entry.name} has the wrong size`);
    this.entry = entry;
    this.groupBlocks = entry.groupBlocks;
    this.groups = groupCount(entry);
    this.#bytes = new IndexPages(bytes);
    this.#groupOffsets = new Float64Array(this.groups + 1);
    // One flat loop over the blocks, read from `bytes` directly: nested loops over groups and
    // their blocks left V8's on-stack-replaced code at every inner loop's end (256 deoptimizations
    // for a 2 GiB image, 68 ms for a 4 GiB one).
    const gb = this.groupBlocks;
    const blocks = entry.blocks;
    const bs = entry.blockSize;
    const offsets = this.#groupOffsets;
    // the first block's stored size (V2_SIZE_BYTES, big-endian, minus 1), decoded by hand below as
    // storedLength() does: Buffer.readUInt16BE in this loop took three times as long (2 GiB: 21–33 ms against 6–11)
    let p = this.groups * DIGEST_BYTES;
    let at = 0;
    for (let i = 0, g = 0, k = 0; i < blocks; i++, k++, p += V2_SIZE_BYTES) {
      if (k === gb || i === 0) {
        k = 0;
        offsets[g] = at;
        at += this.#blockCount(g++) * DIGEST_BYTES; // the group's table
      }
      const s = ((bytes[p]! << 8) | bytes[p + 1]!) + 1;
      if (s > bs || (i === blocks - 1 && s > this.rawLength(i))) { // only the last block is short (blocks = ceil(size / bs), manifest.ts)
        throw new OutpostError('E_BUNDLE_STORED_SIZE', `payload ${entry.name}: block ${i} claims ${s} stored bytes for ${this.rawLength(i)} raw ones`);
      }
      at += s;
    }
    this.#groupOffsets[this.groups] = at;
    if (at !== entry.storedSize) {
      throw new OutpostError('E_BUNDLE_STORED_SIZE', `payload ${entry.name}: stored sizes add up to ${at} bytes, the manifest says ${entry.storedSize}`);
    }
  }

  /**
   * `file` holds this index at `base` (the journal's copy of the head): the index's memory is let
   * go, and its pages are read from there, each checked against a digest taken now.
   */
  pageFrom(file: string, base: number): void {
    this.#bytes.pageFrom(file, base);
  }

  /** Whether the index is read from a file now (pageFrom). */
  get paged(): boolean {
    return this.#bytes.paged;
  }

  rawLength(i: number): number {
    return Math.min(this.entry.blockSize, this.entry.size - i * this.entry.blockSize);
  }

  storedLength(i: number): number {
    return this.#bytes.readUInt16BE(this.groups * DIGEST_BYTES + i * V2_SIZE_BYTES) + 1;
  }

  groupDigest(g: number): Buffer {
    return this.#bytes.view(g * DIGEST_BYTES, DIGEST_BYTES);
  }

  /** groupDigest(g) as a latin1 string: no Buffer (nor, once paged, a copy) per group. */
  groupDigestLatin1(g: number): string {
    return this.#bytes.latin1(g * DIGEST_BYTES, DIGEST_BYTES);
  }

  group(g: number): GroupExtent {
    const blockCount = this.#blockCount(g);
    return { tableOffset: this.#groupOffsets[g]!, tableLength: blockCount * DIGEST_BYTES, firstBlock: g * this.groupBlocks, blockCount };
  }

  /** Blocks in group g: groupBlocks, fewer in the last group. */
  #blockCount(g: number): number {
    return Math.min(this.groupBlocks, this.entry.blocks - g * this.groupBlocks);
  }

  /** Stored bytes of group g: its table and its blocks as stored. */
  groupStoredLength(g: number): number {
    return this.#groupOffsets[g + 1]! - this.#groupOffsets[g]!;
  }

  /** Offset (in the payload entry's data) and length of block i's stored bytes. */
  block(i: number): { offset: number; length: number } {
    const g = Math.floor(i / this.groupBlocks);
    const e = this.group(g);
    let offset = e.tableOffset + e.tableLength;
    for (let k = e.firstBlock; k < i; k++) offset += this.storedLength(k);
    return { offset, length: this.storedLength(i) };
  }

  /** Whether `table` is group g's table of block digests. */
  tableMatches(g: number, table: Buffer): boolean {
    // as latin1 strings: a digest Buffer and a copy of the signed one per group cost more than hashing the table
    return table.length === this.#blockCount(g) * DIGEST_BYTES && hash('sha256', table, 'binary') === this.groupDigestLatin1(g);
  }

  /** Throws E_BUNDLE_INDEX unless `table` is group g's table of block digests. */
  checkTable(g: number, table: Buffer): void {
    if (!this.tableMatches(g, table)) {
      throw new OutpostError('E_BUNDLE_INDEX', `payload ${this.entry.name}: the block table of group ${g} does not match the signed index`);
    }
  }
}

/** A group's digest: sha256 over its blocks' sha256 digests, in order. */
export function groupDigestOf(table: Buffer): Buffer {
  return hash('sha256', table, 'buffer'); // one call: a Hash object per group cost more than hashing its table
}

/**
 * True when sha256(data) is the first DIGEST_BYTES of `digest`. Compared as latin1 strings: a
 * digest Buffer per 4 KiB block is memory outside the heap until V8 collects its wrapper.
 */
export function digestIs(data: Buffer, digest: Buffer): boolean {
  return blockDigestLatin1(data) === digest.toString('latin1', 0, DIGEST_BYTES);
}

/**
 * Writes the sha256 of each whole block of `data` (a group's bytes, or part of them) into `table`,
 * in order, and hands each digest to `each` as a 'binary' (latin1) string: a Buffer per digest
 * costs more than hashing a 4 KiB block. Returns the part of `table` written.
 */
export function blockTableOf(data: Buffer, blockSize: number, table: Buffer, each?: (digest: string) => void): Buffer {
  let k = 0;
  for (let at = 0; at + blockSize <= data.length; at += blockSize, k++) {
    const d = blockDigestLatin1(data.subarray(at, at + blockSize));
    table.write(d, k * DIGEST_BYTES, 'latin1');
    each?.(d);
  }
  return table.subarray(0, k * DIGEST_BYTES);
}
