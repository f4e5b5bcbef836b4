// Where a deployment's bundle comes from: a local file (USB stick) or HTTP (agent/fetch/).
// The update machine owns the durable progress; a source only turns a resume point into
// verified blocks delivered to the sink.
import type { BlockSink, BundleVerifier, VerifiedHead } from './types.ts';

export interface ResumePoint {
  /**
   * Where the head persisted by the first attempt is, re-verified before use (resumedHead()): the
   * file (the journal's copy; the head then pages its indexes from it), or its bytes. One of them.
   */
  readonly headFile?: string;
  readonly headBytes?: Buffer;
  /** Payload being written and the first block not yet durably in the slot. */
  readonly payload: string;
  readonly nextBlock: number;
  /** Source validator seen on the first attempt (HTTP ETag/Last-Modified, file size+mtime). */
  readonly validator: string | null;
}

/** A slot whose content may hold blocks of the new image (a delta reads it; never writes it). */
export interface LocalSlot {
  readonly path: string;
  size(): Promise<number>;
}

/** How a deployment's bytes arrive: planned and actual, for progress events, logs and status. */
export interface TransferReport {
  readonly mode: 'full' | 'delta';
  /** Bytes a full download of what is still missing would fetch. */
  readonly fullBytes: number;
  /** Bytes the plan expects to fetch (for a delta an upper bound, or an estimate from a sample of block tables). */
  readonly plannedBytes: number;
  /** Bytes received so far (body bytes, head included). */
  readonly fetchedBytes: number;
  /** Raw bytes taken from local slots after passing their check. */
  readonly localBytes: number;
  readonly requests: number;
}

export interface DeliverOptions {
  readonly sink: BlockSink;
  /** null: start from the beginning. */
  readonly resume: ResumePoint | null;
  readonly signal: AbortSignal;
  /** Bound to the node's trust store, floor and compatible strings. */
  readonly verifier: BundleVerifier;
  /** Reports the validator as soon as it is known so it can be persisted with progress. */
  readonly onValidator?: (validator: string | null) => void;
  /** Slots to take unchanged blocks from (booted slot, the target's current content); none: full download. */
  readonly local?: readonly LocalSlot[];
  /**
   * A directory on the node's disk for a delta's lookup tables of the local slots (16 bytes a
   * block, removed when the delivery ends; one delivery at a time) and a copy of the verified head
   * its index pages from until the sink's begin() points it elsewhere. Not given, or too full: they
   * are kept in memory (8 bytes a block). Not tmpfs: that is memory.
   */
  readonly scratchDir?: string;
  /** Told the transfer plan once it is made, and its progress. */
  readonly onTransfer?: (t: TransferReport) => void;
  /**
   * Told of each request answered and of the body bytes received, as they come (a network source).
   * A delta that falls back to a full download adds them to its transfer record.
   */
  readonly onFetched?: (bytes: number, requests: number) => void;
  /**
   * Fresh start only: the head this deliver() already fetched and verified from the same origin
   * (a delta's head probe that found nothing to reuse). A source that can may go on from the first
   * payload instead of fetching the head again; the validator is the one the head came with.
   */
  readonly known?: { readonly head: VerifiedHead; readonly validator: string | null };
}

/** What the deployment must install (an offer's pin): anything else is refused before a block is written. */
export interface BundlePin {
  /** sha256 of the signed manifest's bytes (shared/bundle/identity.ts). */
  readonly manifestSha256: string;
  readonly version?: string;
  /** As the offer spells it (a string on the wire): compared with the manifest's release as text. */
  readonly release?: string;
}

export interface BundleSource {
  /** Human-readable origin for logs and reports (path or URL). */
  readonly origin: string;
  /** The bundle this source must deliver (offers, `install --expect-sha256`). */
  readonly pin?: BundlePin;
  /**
   * Delivers verified head and blocks. If the resume point's validator no longer matches the
   * source (the bundle changed), throws E_SOURCE_CHANGED so the caller restarts cleanly. The head
   * returned may page its index from a scratch file that is gone once this returns (scratchDir):
   * only a sink that pointed it at a copy of its own in begin() (pageFrom) may read it afterwards.
   */
  deliver(options: DeliverOptions): Promise<VerifiedHead>;
}
