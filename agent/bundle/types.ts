// Contract between the verifying reader and its consumers (update state machine, HTTP fetcher).
import type { Manifest, PayloadEntry } from '../../shared/bundle/types.ts';
import type { TrustStore } from '../../shared/bundle/trust.ts';
import type { StoredIndex } from '../../shared/bundle/stored-index.ts';

export interface VerifiedPayload {
  readonly entry: PayloadEntry;
  /** Byte offset of the payload's data inside the bundle file (for Range resume). */
  readonly dataOffset: number;
  /** The index entry's bytes (already checked against entry.indexSha256): format 1, one sha256 per block; empty for format 2. */
  readonly blockHashes: Buffer;
  /** Format 2: the parsed index (group digests, stored sizes and offsets); null for format 1. */
  readonly stored: StoredIndex | null;
}

export interface VerifiedHead {
  readonly manifest: Manifest;
  /** Raw bundle bytes up to the first payload's data; persisted so a resume can re-verify it. */
  readonly headBytes: Buffer;
  readonly payloads: readonly VerifiedPayload[];
  /** Key ids whose signatures were valid. */
  readonly signers: readonly string[];
  /** sha256 (lowercase hex) of the manifest entry's bytes: what an offer pins (identity.ts). */
  readonly manifestSha256: string;
  /**
   * headBytes a chunk at a time, for writing them out: once paged, read from the file and checked
   * against the head's digest at the end (E_BUNDLE_INDEX_PAGE), so a caller that writes them must
   * not use what it wrote until the iteration ended without error. A chunk is valid until the next
   * one is asked for.
   */
  headChunks(): AsyncIterable<Buffer>;
  /**
   * `file` holds headBytes now (written or read by the caller): when every payload is format 2,
   * the head's memory is let go. Its indexes read pages from the file, each checked against a
   * digest taken here, and headBytes reads the file back, checked, when asked; a file changed
   * since is E_BUNDLE_INDEX_PAGE. A head with a format-1 payload keeps its bytes (its block
   * hashes are views of them).
   */
  pageFrom(file: string): void;
}

/**
 * Receives only verified data, in order, one call at a time. Awaited: a slow sink applies
 * backpressure to the source.
 */
export interface BlockSink {
  begin(head: VerifiedHead, payload: PayloadEntry): Promise<void>;
  /**
   * Block `index` and, when `data` is longer than one block, the blocks after it (a run: whole
   * blocks of payload.blockSize, the payload's last one possibly shorter; see blocksIn()). Each
   * one's sha256 matched the signed index. `data` is a reused buffer: valid until the returned
   * promise settles; copy it to keep it.
   */
  block(payload: PayloadEntry, index: number, data: Buffer): Promise<void>;
  /** After the payload's last block, once the bytes after it checked out (single-pass reads only). */
  end(payload: PayloadEntry): Promise<void>;
}

/** A verifier bound to the node's policy (trust store, floor, compatible strings). */
export interface BundleVerifier {
  /** Verifies a whole bundle stream from byte 0: head first, then every block into the sink. */
  readBundle(source: AsyncIterable<Uint8Array>, sink: BlockSink, signal?: AbortSignal): Promise<VerifiedHead>;
  /** Verifies just the head from the first bytes of a bundle; stops reading at the first payload's data. */
  readHead(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<VerifiedHead>;
  /** Re-verifies head bytes persisted by an earlier attempt (signatures, floor, compatibility). */
  verifyHeadBytes(headBytes: Buffer): VerifiedHead;
  /**
   * Verifies blocks from a stream positioned at block `fromBlock` of `payload` (Range resume).
   * Neither sink.begin nor
   * sink.end is called: the caller set the sink up for the resume. Reading stops after the
   * payload's last block even if the source goes on (a Range to the end of the file is fine).
   */
  readBlocks(
    source: AsyncIterable<Uint8Array>,
    head: VerifiedHead,
    payload: string,
    fromBlock: number,
    sink: BlockSink,
    signal?: AbortSignal,
  ): Promise<void>;
}

/** What a node accepts: its trust store, anti-rollback floor and compatible strings. */
export interface VerifyPolicy {
  readonly trust: TrustStore;
  /** Lowest acceptable release (from the release floor file); a bundle with release >= it passes. */
  readonly releaseFloor: number;
  /** This node's compatible strings; the manifest must name at least one. Empty disables the check (tooling only). */
  readonly compatible: readonly string[];
  /**
   * Reserved for time-based checks. Deliberately unused by format 1: nodes may lack a real-time
   * clock, so acceptance never depends on the wall clock.
   */
  readonly now?: () => number;
}

/** How many blocks a sink's `data` holds (a run of small blocks is handed on in one call). */
export function blocksIn(payload: PayloadEntry, data: Buffer): number {
  return Math.max(1, Math.ceil(data.length / payload.blockSize));
}
