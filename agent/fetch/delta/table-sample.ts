// What a delta saves below the level of whole groups. The plan and the sample of the slots
// (plan.ts, local-probe.ts) count only groups found whole in a local slot; a change scattered
// every few blocks touches every group and leaves most blocks as they were, and a delta was then
// judged worthless and the image downloaded in full (256 MiB image, one 4 KiB block in 14
// changed: 258 MiB fetched where a delta needs about 20). The head holds a digest per group only,
// so the blocks' digests come from the tables of a sample of groups: one small request (64
// tables of 512 bytes for 4 KiB blocks), each table checked against its signed group digest.
// Before the slots are scanned, the local blocks at the same offsets are read and hashed against
// them; after a scan, its index is asked, as the delta will ask it. What matches says which
// share of the other groups' stored bytes a delta would take locally: weighed by stored bytes, so
// empty space (a few bytes a block) counts for little, and over the sampled groups not found whole
// (the plan counts those already). An estimate, and only ever an estimate: what the delta then
// takes is checked against the signed index as always.
import { open, type FileHandle } from 'node:fs/promises';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { blockTableOf, type StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { settleAll } from '../../lib/settle-all.ts';
import type { LocalFile } from './local-index.ts';
import { checkedTable, localGroup, planBlocks, tableRanges, type GroupLookup } from './plan.ts';
import type { ByteRange } from '../../../shared/http/byte-ranges.ts';
import type { Piece } from './range-get.ts';

/** Groups whose tables are fetched: 1,024 blocks of 4 KiB, the share known to a few per cent. */
export const SAMPLE_GROUPS = 64;
/** Local reads in flight at once. */
const READS = 4;

/** Up to n distinct whole groups from g0 on, one from each of n strata of (nearly) equal size, in order. */
export function sampleGroups(index: StoredIndex, g0: number, n: number, random: () => number): number[] {
  const last = index.groups - 1;
  // a last group that is short, or ends in a short block, has no aligned local twin
  const whole = last >= 0 && index.group(last).blockCount === index.groupBlocks && index.rawLength(index.entry.blocks - 1) === index.entry.blockSize;
  const span = (whole ? index.groups : last) - g0;
  if (span <= 0) return [];
  if (span <= n) return Array.from({ length: span }, (_, k) => g0 + k);
  const edge = (s: number) => Math.floor((s * span) / n); // stratum s is [edge(s), edge(s + 1)), never empty
  return Array.from({ length: n }, (_, s) => g0 + edge(s) + Math.min(edge(s + 1) - edge(s) - 1, Math.floor(random() * (edge(s + 1) - edge(s)))));
}

/**
 * Which blocks of group g (its table checked) a delta would take locally, 1 each; null when the
 * group is found whole (the plan counts it as local already).
 */
export type BlockHits = (g: number, table: Buffer) => Promise<Uint8Array | null> | Uint8Array | null;

/**
 * Share (0–1) of the stored bytes of the sampled groups' blocks that `hits` finds, over the groups
 * not found whole (0 when every one is); `tables` gives each group's table, already checked.
 */
export async function localShare(index: StoredIndex, tables: ReadonlyMap<number, Buffer>, hits: BlockHits, signal: AbortSignal): Promise<number> {
  const groups = [...tables.keys()];
  let sampled = 0;
  let found = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      signal.throwIfAborted();
      const g = groups[next++]!;
      const hit = await hits(g, tables.get(g)!);
      if (!hit) continue;
      const first = index.group(g).firstBlock;
      for (let k = 0; k < hit.length; k++) {
        const stored = index.storedLength(first + k);
        sampled += stored;
        found += hit[k]! * stored;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(READS, groups.length) }, worker));
  return sampled === 0 ? 0 : found / sampled;
}

/** Through the index of a scan of the slots: a block anywhere in them, as the delta looks (plan.ts). */
export function indexedHits(index: StoredIndex, lookup: GroupLookup): BlockHits {
  return (g, table) => (localGroup(index, g, lookup) ? null : Uint8Array.from(planBlocks(index, g, table, lookup), (at) => (at >= 0 ? 1 : 0)));
}

/**
 * Without a scan: the local files' blocks at the same offsets, read and hashed (fn runs while the
 * files are open). A group whose blocks all match there is one the scan finds whole.
 */
export async function withSameOffsetHits<T>(index: StoredIndex, files: readonly LocalFile[], fn: (hits: BlockHits) => Promise<T>): Promise<T> {
  const bs = index.entry.blockSize;
  const groupBytes = bs * index.groupBlocks;
  const handles: Array<FileHandle | null> = await Promise.all(files.map((f) => open(f.path, 'r').catch(() => null)));
  const spare: Buffer[] = []; // one read buffer per reader in flight
  const hits: BlockHits = async (g, table) => {
    const data = spare.pop() ?? Buffer.allocUnsafe(groupBytes);
    const digests = Buffer.allocUnsafe(index.groupBlocks * DIGEST_BYTES);
    const at = index.group(g).firstBlock * bs;
    const hit = new Uint8Array(index.groupBlocks);
    try {
      for (const [f, fh] of handles.entries()) {
        if (!fh || at + groupBytes > files[f]!.length) continue;
        const { bytesRead } = await fh.read(data, 0, groupBytes, at).catch(() => ({ bytesRead: 0 }));
        if (bytesRead < groupBytes) continue;
        blockTableOf(data, bs, digests);
        for (let k = 0; k < index.groupBlocks; k++) {
          if (digests.compare(table, k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES, k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES) === 0) hit[k] = 1;
        }
      }
    } finally {
      spare.push(data);
    }
    return hit.every((h) => h === 1) ? null : hit;
  };
  try {
    return await fn(hits); // localShare's readers have all stopped when it returns
  } finally {
    await Promise.all(handles.map((h) => h?.close().catch(() => {})));
  }
}

export interface SampleOptions {
  /** Where the payload's stored data starts in the bundle. */
  readonly dataOffset: number;
  /** The groups from the first one still to deliver. */
  readonly fromBlock: number;
  /** The scan's index of the local files, if they were scanned. */
  readonly scanned: GroupLookup | null;
  readonly random: () => number;
  /** The bundle's bytes in these ranges (one attempt: a failure fails the sample). */
  fetch(ranges: ByteRange[]): Promise<Piece[]>;
  readonly signal: AbortSignal;
}

/**
 * The share of the stored bytes of the groups without a local candidate that a delta would take
 * locally, from the tables of SAMPLE_GROUPS groups: through the scan's index, or without one at
 * their own offsets in the local files.
 */
export async function sampleShare(index: StoredIndex, files: readonly LocalFile[], o: SampleOptions): Promise<number> {
  const groups = sampleGroups(index, Math.floor(o.fromBlock / index.groupBlocks), SAMPLE_GROUPS, o.random);
  if (groups.length === 0) return 0;
  const pieces = await o.fetch(tableRanges(index, o.dataOffset, groups));
  const tables = new Map(groups.map((g) => [g, checkedTable(index, o.dataOffset, pieces, g)] as const));
  if (o.scanned) return localShare(index, tables, indexedHits(index, o.scanned), o.signal);
  return withSameOffsetHits(index, files, (hits) => localShare(index, tables, hits, o.signal));
}
