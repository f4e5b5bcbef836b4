// Where a payload's bytes start in a bundle and which checker reads them, per format: the one
// place fetchers and the parser ask, so neither knows the formats' layouts.
import { BlockChecker, type PayloadChecker } from './block-checker.ts';
import { StoredBlockChecker, storedResumeOffset } from './stored-block-checker.ts';
import type { VerifiedPayload } from './types.ts';

/** The checker for a stream positioned at streamOffset(p, fromBlock). */
export function payloadChecker(p: VerifiedPayload, fromBlock: number): PayloadChecker {
  return p.stored ? new StoredBlockChecker(p.stored, fromBlock) : new BlockChecker(p.entry, p.blockHashes, fromBlock);
}

/** Bundle offset where reading must start to deliver block `fromBlock` onwards. */
export function streamOffset(p: VerifiedPayload, fromBlock: number): number {
  return p.dataOffset + (p.stored ? storedResumeOffset(p.stored, fromBlock) : fromBlock * p.entry.blockSize);
}

/** Bundle offset just after the payload entry's data. */
export function streamEnd(p: VerifiedPayload): number {
  return p.dataOffset + (p.entry.storedSize ?? p.entry.size);
}
