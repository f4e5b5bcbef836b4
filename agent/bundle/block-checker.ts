// Cuts a payload's byte stream into blocks and checks each against the signed block index
// before anyone sees it. Holds at most one partial block.
import { createHash, type Hash } from 'node:crypto';
import { OutpostError } from '../../shared/errors.ts';
import { DIGEST_BYTES } from '../../shared/bundle/format.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';

export interface CheckedBlock {
  readonly index: number;
  readonly data: Buffer;
}

/** What the stream parser needs from a payload's checker (format 1: BlockChecker; format 2: StoredBlockChecker). */
export interface PayloadChecker {
  readonly entry: PayloadEntry;
  readonly done: boolean;
  readonly remaining: number;
  push(data: Buffer, offset: number): { used: number; block: CheckedBlock | null };
  checkTotal(): void;
}

export class BlockChecker implements PayloadChecker {
  readonly entry: PayloadEntry;
  readonly #hashes: Buffer;
  #index: number;
  #buf: Buffer | null = null;
  #fill = 0;
  /** Whole-payload digest, only when reading from byte 0 of the payload. */
  readonly #total: Hash | null;

  constructor(entry: PayloadEntry, blockHashes: Buffer, fromBlock = 0) {
    this.entry = entry;
    this.#hashes = blockHashes;
    this.#index = fromBlock;
    this.#total = fromBlock === 0 ? createHash('sha256') : null;
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
   * Takes bytes from data[offset..]; returns how many it used and the block it completed, if
   * any (at most one per call). Throws E_BUNDLE_BLOCK on a mismatch; that block is never returned.
   */
  push(data: Buffer, offset: number): { used: number; block: CheckedBlock | null } {
    if (this.done) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `payload ${this.entry.name}: more data than its size`);
    const want = this.#blockLength(this.#index);
    const avail = data.length - offset;
    let complete: Buffer | null = null;
    let used: number;
    if (this.#fill === 0 && avail >= want) {
      complete = data.subarray(offset, offset + want); // whole block in one piece: no copy
      used = want;
    } else {
      this.#buf ??= Buffer.allocUnsafe(want);
      used = Math.min(avail, want - this.#fill);
      data.copy(this.#buf, this.#fill, offset, offset + used);
      this.#fill += used;
      if (this.#fill === want) {
        complete = this.#buf;
        this.#buf = null; // the sink may keep the buffer; never reuse it
        this.#fill = 0;
      }
    }
    if (!complete) return { used, block: null };
    const i = this.#index;
    const digest = createHash('sha256').update(complete).digest();
    if (!digest.equals(this.#hashes.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES))) {
      throw new OutpostError('E_BUNDLE_BLOCK_HASH', `payload ${this.entry.name}: block ${i} does not match the signed block index`);
    }
    this.#total?.update(complete);
    this.#index++;
    return { used, block: { index: i, data: complete } };
  }

  /** After the last block: the whole-payload sha256 (single-pass reads only). */
  checkTotal(): void {
    if (!this.#total) return;
    const hex = this.#total.digest('hex');
    if (hex !== this.entry.sha256) {
      throw new OutpostError('E_BUNDLE_DIGEST', `payload ${this.entry.name}: sha256 ${hex} does not match the manifest`);
    }
  }
}
