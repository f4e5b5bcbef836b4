// Cuts a payload's byte stream into blocks, each copied into a pool buffer, and pairs each with
// its expected digest from the signed block index. It does NOT hash: a cut block is unverified
// until the verify pipeline (verify-pipeline.ts) compared its digest, and only then is it handed on.
import { OutpostError } from '../../shared/errors.ts';
import { DIGEST_BYTES } from '../../shared/bundle/format.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';
import type { BlockPool } from './block-pool.ts';

/** A complete block whose hash has not been checked yet. */
export interface UncheckedBlock {
  readonly payload: PayloadEntry;
  readonly index: number;
  /** Pool buffer holding exactly the block's bytes (or, when `lent`, a view of the input). */
  readonly data: Buffer;
  /**
   * True: `data` is a view of the source's chunk (a block stored whole in it), valid only until
   * the source is asked for its next chunk; the pipeline copies what it keeps, and it is not a
   * pool buffer.
   */
  readonly lent?: boolean;
  /** The block's sha256 from the signed index (a view of the index). */
  readonly expected: Buffer;
  /**
   * More than 1: `data` holds this many consecutive blocks from `index` on, each of the payload's
   * block size, and `expected` their digests in order (a run of format-2 blocks stored raw, cut
   * in one piece: per-block objects and calls cost more than hashing 4 KiB). Each block is still
   * checked on its own.
   */
  readonly count?: number;
}

export class BlockCutter {
  readonly entry: PayloadEntry;
  readonly #hashes: Buffer;
  readonly #pool: BlockPool;
  #index: number;
  #buf: Buffer | null = null;
  #fill = 0;

  constructor(entry: PayloadEntry, blockHashes: Buffer, pool: BlockPool, fromBlock = 0) {
    this.entry = entry;
    this.#hashes = blockHashes;
    this.#pool = pool;
    this.#index = fromBlock;
  }

  get done(): boolean {
    return this.#index >= this.entry.blocks;
  }

  /** Bytes still expected for this payload. */
  get remaining(): number {
    return this.entry.size - this.#index * this.entry.blockSize - this.#fill;
  }

  #blockLength(i: number): number {
    return Math.min(this.entry.blockSize, this.entry.size - i * this.entry.blockSize);
  }

  /**
   * Copies bytes from data[offset..]; returns how many it used and the block it completed, if
   * any (at most one per call). `data` may be reused by its owner as soon as this returns.
   */
  push(data: Buffer, offset: number): { used: number; block: UncheckedBlock | null } {
    if (this.done) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `payload ${this.entry.name}: more data than its size`);
    const want = this.#blockLength(this.#index);
    this.#buf ??= this.#pool.take(want);
    const used = Math.min(data.length - offset, want - this.#fill);
    this.#buf.set(data.subarray(offset, offset + used), this.#fill); // set, not copy(): a builtin, fast before the JIT warms up
    this.#fill += used;
    if (this.#fill < want) return { used, block: null };
    const i = this.#index++;
    const block = { payload: this.entry, index: i, data: this.#buf, expected: this.#hashes.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES) };
    this.#buf = null;
    this.#fill = 0;
    return { used, block };
  }

  /** Blocks are 64 KiB or more: a parser step (256 KiB at most) completes four at most. */
  stepLimit(_items: number): number {
    return Number.POSITIVE_INFINITY;
  }

  /** Hands a partly filled buffer back (the stream stopped mid-block). */
  release(): void {
    if (this.#buf) this.#pool.give(this.#buf);
    this.#buf = null;
    this.#fill = 0;
  }
}
