// Before a delta reads the whole of the local slots (the running one, and the target when
// resuming: 1.5 s of CPU a GiB here, and minutes on an SD card), a sample of their aligned groups says whether they can hold enough of
// the new image to be worth it. The delta only goes ahead when groups found locally save at least
// a tenth of the download (plan.ts), so the sample is sized to find, with near certainty, a local
// group among the fewest that could add up to half of that; when none turns up, nothing close to
// a tenth is there and the full download starts at once. A sample larger than half the slots is
// not worth taking: the scan runs instead. Up to that, a sample reads less than the scan, in
// order with gaps, stops at its first find, and skips the scan's hashing and tables when it
// finds nothing (a quarter was the limit before: a 256 MiB ext4 image with 27 % free space into
// empty slots then scanned the running one, 1.7 s, where a sample of 30 % of its groups said
// "full" at once).
// Sampling only ever decides "full download"; what the delta takes from a slot is still checked
// against the signed index.
import { open, type FileHandle } from 'node:fs/promises';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import { blockTableOf, groupDigestOf, type StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { isZeros, zeroGroupDigestLatin1 } from '../../../shared/bundle/block-digest.ts';
import { KeyTable } from './key-table.ts';
import { settleAll } from '../../lib/settle-all.ts';
import type { LocalFile } from './local-index.ts';

/** Sample reads in flight at once. */
const PROBE_READS = 4;

export interface ProbeResult {
  /** false: the slots hold too little of the image for a delta (no need to scan them). */
  readonly worth: boolean;
  /** Groups read (0: the sample would have been too large; scan instead). */
  readonly sampled: number;
  /** Of those, groups of zeros, not hashed: empty space that could not count (below). */
  readonly zeros: number;
  /** Aligned groups in the local files. */
  readonly groups: number;
}

export interface ProbeOptions {
  /** Chance of missing savings worth a delta (default 1e-6). */
  readonly miss?: number;
  /** Share of the download that groups which are found locally must save for a delta (default 0.1). */
  readonly minSaving?: number;
  /** Uniform in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/** Samples the local files' aligned groups for the groups of `index` from block `fromBlock` on. */
export async function probeLocal(files: readonly LocalFile[], index: StoredIndex, fromBlock: number, signal: AbortSignal, o: ProbeOptions = {}): Promise<ProbeResult> {
  const groupBytes = index.entry.blockSize * index.groupBlocks;
  const counts = files.map((f) => Math.floor(Math.max(0, f.length) / groupBytes));
  const groups = counts.reduce((a, b) => a + b, 0);
  const d = digestsFrom(index, Math.floor(fromBlock / index.groupBlocks));
  // Savings a delta needs, halved. Digests that store in the fewest bytes a group, up to that much
  // together, do not count as hits (empty space is in every slot and stores in a few bytes); the
  // others must then save that half, and it takes at least `fewest` of them.
  const half = ((o.minSaving ?? 0.1) / 2) * d.weight.reduce((a, b) => a + b, 0);
  // typed arrays, sorted in place: at 4 GiB there are 64 Ki groups, and these tables were the
  // largest thing a format-2 install over HTTP held at its start
  let n0 = 0;
  const distinct = new Uint32Array(d.count.length);
  for (let p = 0; p < d.count.length; p++) if (d.count[p]) distinct[n0++] = p;
  const perGroup = (p: number) => d.weight[p]! / d.count[p]!;
  const order = distinct.subarray(0, n0).sort((a, b) => perGroup(a) - perGroup(b));
  const counted = new Uint8Array(d.count.length).fill(1);
  for (let k = 0, sum = 0; k < order.length && sum + d.weight[order[k]!]! <= half; k++) {
    sum += d.weight[order[k]!]!;
    counted[order[k]!] = 0;
  }
  // Only digests that count can make up the savings: a heavy one that does not (all the image's
  // free space is one digest) would make `fewest` too small and the sample too large to take.
  for (let p = 0; p < counted.length; p++) if (!counted[p]) d.weight[p] = 0;
  const heaviest = d.weight.sort().reverse(); // the weights are not needed in position order any more
  let fewest = 0;
  for (let sum = 0; fewest < heaviest.length && sum < half; fewest++) sum += heaviest[fewest]!;
  const n = fewest === 0 ? 0 : Math.ceil((Math.log(1 / (o.miss ?? 1e-6)) * groups) / fewest);
  if (groups === 0 || fewest === 0 || n > groups / 2) return { worth: true, sampled: 0, zeros: 0, groups };
  // A slot is often mostly zeros (a new node's empty slot, a filesystem's free space). A group of
  // zeros is compared with zeros instead of hashed, unless the image's own group of zeros counts.
  const z = d.keys.findLatin1(zeroGroupDigestLatin1(index.entry.blockSize, index.groupBlocks));
  const zeroCounts = z >= 0 && counted[z] === 1;
  const random = o.random ?? Math.random;
  const handles: Array<FileHandle | null> = await Promise.all(files.map((f) => open(f.path, 'r').catch(() => null)));
  let sampled = 0;
  let zeros = 0;
  let next = 0;
  let hit = false;
  // One group from each of n equal strata: a run of matching groups longer than a stratum cannot
  // be missed. A few reads at once: one at a time, the sample waited on the device for most of
  // its time (256 MiB slot, 276 groups: 0.13 s, 85% idle).
  const reader = async (): Promise<void> => {
    const data = Buffer.allocUnsafe(groupBytes);
    const table = Buffer.allocUnsafe(index.groupBlocks * DIGEST_BYTES);
    while (next < n && !hit) {
      signal.throwIfAborted();
      const s = next++;
      let at = Math.min(groups - 1, Math.floor(((s + random()) * groups) / n));
      let file = 0;
      while (at >= counts[file]!) at -= counts[file++]!;
      const fh = handles[file];
      if (!fh) continue;
      const { bytesRead } = await fh.read(data, 0, groupBytes, at * groupBytes).catch(() => ({ bytesRead: 0 }));
      if (bytesRead < groupBytes || hit) continue;
      sampled++;
      if (!zeroCounts && isZeros(data)) {
        zeros++;
        continue;
      }
      const p = d.keys.find(groupDigestOf(blockTableOf(data, index.entry.blockSize, table)));
      if (p >= 0 && counted[p]) hit = true;
    }
  };
  try {
    await settleAll(Array.from({ length: Math.min(PROBE_READS, n) }, reader)); // all stopped before the handles close
  } finally {
    await Promise.all(handles.map((h) => h?.close().catch(() => {})));
  }
  return { worth: hit, sampled, zeros, groups };
}

/**
 * The whole groups from g0 on, looked up by digest (KeyTable: 8 bytes a group; a Map of digest
 * strings took ~80), with stored bytes (tables included) and group counts added up per distinct
 * digest at the position of its first group.
 */
function digestsFrom(index: StoredIndex, g0: number): { keys: KeyTable; weight: Float64Array; count: Uint32Array } {
  // only the last group can be short, and a short group has no aligned local twin
  const last = index.groups - 1;
  const m = Math.max(0, index.groups - g0 - (last >= g0 && index.group(last).blockCount !== index.groupBlocks ? 1 : 0));
  const keys = new KeyTable(m);
  for (let p = 0; p < m; p++) keys.add(index.groupDigestLatin1(g0 + p));
  const weight = new Float64Array(m);
  const count = new Uint32Array(m);
  for (let p = 0; p < m; p++) {
    const first = keys.findLatin1(index.groupDigestLatin1(g0 + p));
    weight[first]! += index.groupStoredLength(g0 + p);
    count[first]!++;
  }
  return { keys, weight, count };
}
