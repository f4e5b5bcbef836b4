// Contract between the verifying reader and its consumers (update state machine, HTTP fetcher).
import type { Manifest, PayloadEntry } from '../../shared/bundle/types.ts';

export interface VerifiedPayload {
  readonly entry: PayloadEntry;
  /** Byte offset of the payload's data inside the bundle file (for Range resume). */
  readonly dataOffset: number;
  /** Concatenated sha256 digests, one per block (already checked against entry.indexSha256). */
  readonly blockHashes: Buffer;
}

export interface VerifiedHead {
  readonly manifest: Manifest;
  /** Raw bundle bytes up to the first payload's data; persisted so a resume can re-verify it. */
  readonly headBytes: Buffer;
  readonly payloads: readonly VerifiedPayload[];
  /** Key ids whose signatures were valid. */
  readonly signers: readonly string[];
}

/** Receives only verified data. Awaited: a slow sink applies backpressure to the source. */
export interface BlockSink {
  begin(head: VerifiedHead, payload: PayloadEntry): Promise<void>;
  block(payload: PayloadEntry, index: number, data: Buffer): Promise<void>;
  /** Called after the whole-payload sha256 matched (single-pass reads only). */
  end(payload: PayloadEntry): Promise<void>;
}
