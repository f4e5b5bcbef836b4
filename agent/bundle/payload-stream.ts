// Where a payload's bytes start in a bundle and which cutter reads them, per format: the one
// place fetchers and the parser ask, so neither knows the formats' layouts.
import { BlockCutter, type UncheckedBlock } from './block-cutter.ts';
import type { BlockPool } from './block-pool.ts';
import { StoredBlockCutter, storedResumeOffset } from './stored-block-cutter.ts';
import type { VerifiedPayload } from './types.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';

/** What the parser and readBlocks need from a payload's cutter. */
export interface PayloadCutter {
  readonly entry: PayloadEntry;
  readonly done: boolean;
  readonly remaining: number;
  push(data: Buffer, offset: number): { used: number; block: UncheckedBlock | null };
  /**
   * Most bytes to push at once so that at most `items` blocks that need buffers of their own (or
   * format-2 tables) complete; it may stop counting at `most` bytes.
   */
  stepLimit(items: number, most?: number): number;
  release(): void;
}

/** The cutter for a stream positioned at streamOffset(p, fromBlock). */
export function payloadCutter(p: VerifiedPayload, pool: BlockPool, fromBlock: number): PayloadCutter {
  return p.stored ? new StoredBlockCutter(p.stored, pool, fromBlock) : new BlockCutter(p.entry, p.blockHashes, pool, fromBlock);
}

/** Bundle offset where reading must start to deliver block `fromBlock` onwards. */
export function streamOffset(p: VerifiedPayload, fromBlock: number): number {
  return p.dataOffset + (p.stored ? storedResumeOffset(p.stored, fromBlock) : fromBlock * p.entry.blockSize);
}

/** Bundle offset just after the payload entry's data. */
export function streamEnd(p: VerifiedPayload): number {
  return p.dataOffset + (p.entry.storedSize ?? p.entry.size);
}
