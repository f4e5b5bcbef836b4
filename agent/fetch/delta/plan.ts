// Delta planning, pure: which groups and blocks of a format-2 payload come from local slots and
// which byte ranges of the bundle must be fetched. Local hits are only candidates here; the
// delivery checks every local block against the signed index and fetches those that fail.
import { coalesceRanges, type ByteRange } from '../../../shared/http/byte-ranges.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import type { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import type { LocalRef } from './local-index.ts';
import { sliceFrom, type Piece } from './range-get.ts';

/** Gaps up to this many bytes are fetched rather than split into another range (a part header costs about as much). */
export const MAX_GAP = 256;

export interface GroupLookup {
  /** A local run that may hold group `g` of the image, whose digest is `digest`. */
  findGroup(digest: Buffer, g: number): LocalRef | null;
  /** Position of a local block whose digest may be the one at `at` in `table` (block `block` of the image), or -1. */
  findBlock(table: Buffer, at: number, block: number): number;
}

export interface GroupPlan {
  readonly g: number;
  /** A local run whose digest may match the whole group; null: its table is fetched. */
  readonly local: LocalRef | null;
}

export interface WindowLimits {
  /** Most groups without a local candidate: their tables are one request's ranges. */
  readonly fetchGroups: number;
  /** Most raw bytes (how often the delivery reports progress). */
  readonly rawBytes: number;
}

/** A local run that may hold group g whole. A short last group has no aligned local twin: it goes by its table. */
export function localGroup(index: StoredIndex, g: number, lookup: GroupLookup): LocalRef | null {
  return index.group(g).blockCount === index.groupBlocks ? lookup.findGroup(index.groupDigest(g), g) : null;
}

/**
 * Groups from `firstGroup` on, as many as the limits allow (at least one). How much a window
 * fetches is bounded once its tables are in (delta-source.ts): an update that changed 2% of its
 * blocks fetched a few hundred KiB per 8 MiB of image in two requests, and over a link with a
 * long round trip the requests, not the bytes, took the time.
 */
export function planWindow(index: StoredIndex, firstGroup: number, limits: WindowLimits, lookup: GroupLookup): GroupPlan[] {
  const out: GroupPlan[] = [];
  let raw = 0;
  let fetched = 0;
  for (let g = firstGroup; g < index.groups; g++) {
    const e = index.group(g);
    const bytes = Math.min(index.entry.size, (e.firstBlock + e.blockCount) * index.entry.blockSize) - e.firstBlock * index.entry.blockSize;
    if (out.length > 0 && raw + bytes > limits.rawBytes) break;
    const local = localGroup(index, g, lookup);
    if (!local && out.length > 0 && fetched + 1 > limits.fetchGroups) break;
    if (!local) fetched++;
    raw += bytes;
    out.push({ g, local });
  }
  return out;
}

/** Bundle byte ranges of the tables of `groups`. */
export function tableRanges(index: StoredIndex, dataOffset: number, groups: readonly number[]): ByteRange[] {
  return coalesceRanges(groups.map((g) => {
    const e = index.group(g);
    return { start: dataOffset + e.tableOffset, end: dataOffset + e.tableOffset + e.tableLength - 1 };
  }), MAX_GAP);
}

/** Group g's table from the pieces its tableRanges() fetched: a copy, checked against its signed group digest. */
export function checkedTable(index: StoredIndex, dataOffset: number, pieces: readonly Piece[], g: number): Buffer {
  const e = index.group(g);
  const table = Buffer.from(sliceFrom(pieces, dataOffset + e.tableOffset, e.tableLength));
  index.checkTable(g, table);
  return table;
}

/** For block k of group g (its table already checked): the position of a local candidate, or -1 (fetch). */
export function planBlocks(index: StoredIndex, g: number, table: Buffer, lookup: GroupLookup): Int32Array {
  const e = index.group(g);
  const out = new Int32Array(e.blockCount);
  for (let k = 0; k < e.blockCount; k++) {
    // Only whole blocks are indexed locally; a short last block is fetched.
    out[k] = index.rawLength(e.firstBlock + k) === index.entry.blockSize ? lookup.findBlock(table, k * DIGEST_BYTES, e.firstBlock + k) : -1;
  }
  return out;
}

/** Bundle byte ranges of the stored bytes of `blocks`. */
export function blockRanges(index: StoredIndex, dataOffset: number, blocks: readonly number[]): ByteRange[] {
  return coalesceRanges(blocks.map((i) => {
    const b = index.block(i);
    return { start: dataOffset + b.offset, end: dataOffset + b.offset + b.length - 1 };
  }), MAX_GAP);
}

export interface Estimate {
  /** Bytes a full download of the payload from `fromBlock` would fetch. */
  readonly fullBytes: number;
  /**
   * Bytes a delta would fetch: the tables of every group without a local candidate, and their
   * blocks' stored bytes less the share expected locally (`blockShare`; with 0, an upper bound).
   */
  readonly deltaBytes: number;
  /** Raw bytes of groups with a local candidate. */
  readonly localBytes: number;
}

/** Bytes a full download of the payload from block `fromBlock` on fetches (from its group's table). */
export function fullBytesFrom(index: StoredIndex, fromBlock: number): number {
  const g0 = Math.floor(fromBlock / index.groupBlocks);
  return index.entry.storedSize! - (g0 < index.groups ? index.group(g0).tableOffset : index.entry.storedSize!);
}

/**
 * `blockShare`: the share of the stored bytes of blocks of groups without a local candidate that
 * is expected locally (table-sample.ts), 0 when not known.
 */
export function estimate(index: StoredIndex, fromBlock: number, lookup: GroupLookup, blockShare = 0): Estimate {
  const g0 = Math.floor(fromBlock / index.groupBlocks);
  let deltaBytes = 0;
  let localBytes = 0;
  // Group by group, not through a plan of the whole image (two objects per group, all at once).
  for (let g = g0; g < index.groups; g++) {
    const e = index.group(g);
    if (localGroup(index, g, lookup)) localBytes += e.blockCount * index.entry.blockSize;
    else deltaBytes += e.tableLength + (1 - blockShare) * (index.groupStoredLength(g) - e.tableLength);
  }
  return { fullBytes: fullBytesFrom(index, fromBlock), deltaBytes: Math.round(deltaBytes), localBytes };
}
