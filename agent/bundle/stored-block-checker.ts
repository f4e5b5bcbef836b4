// Format-2 counterpart of BlockChecker: cuts a payload entry's stream into group tables and
// stored blocks. Each table is checked against the signed group digest, each block is decoded
// (bounded by its length) and checked against its table digest before anyone sees it.
import { createHash } from 'node:crypto';
import { OutpostError } from '../../shared/errors.ts';
import { DIGEST_BYTES } from '../../shared/bundle/format.ts';
import { decodeBlock } from '../../shared/bundle/block-codec.ts';
import type { StoredIndex } from '../../shared/bundle/stored-index.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';
import type { CheckedBlock, PayloadChecker } from './block-checker.ts';

/** Where a stream must start to deliver block `fromBlock` of a format-2 payload: its group's table. */
export function storedResumeOffset(index: StoredIndex, fromBlock: number): number {
  if (fromBlock >= index.entry.blocks) return index.entry.storedSize!;
  return index.group(Math.floor(fromBlock / index.groupBlocks)).tableOffset;
}

export class StoredBlockChecker implements PayloadChecker {
  readonly entry: PayloadEntry;
  readonly #index: StoredIndex;
  readonly #from: number;
  /** Next block to read (blocks before #from are read and checked but not handed on). */
  #block: number;
  #table: Buffer | null = null;
  #buf: Buffer | null = null;
  #fill = 0;
  #pos: number;

  constructor(index: StoredIndex, fromBlock = 0) {
    this.entry = index.entry;
    this.#index = index;
    this.#from = fromBlock;
    this.#block = fromBlock >= index.entry.blocks ? index.entry.blocks : fromBlock - (fromBlock % index.groupBlocks);
    this.#pos = storedResumeOffset(index, fromBlock);
  }

  get done(): boolean {
    return this.#block >= this.entry.blocks;
  }

  get remaining(): number {
    return this.entry.storedSize! - this.#pos - this.#fill;
  }

  /** The table of the current group is due before its first block. */
  #want(): number {
    if (this.#table === null) return this.#index.group(Math.floor(this.#block / this.#index.groupBlocks)).tableLength;
    return this.#index.storedLength(this.#block);
  }

  push(data: Buffer, offset: number): { used: number; block: CheckedBlock | null } {
    if (this.done) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `payload ${this.entry.name}: more data than its stored size`);
    const want = this.#want();
    const avail = data.length - offset;
    let piece: Buffer | null = null;
    let used: number;
    if (this.#fill === 0 && avail >= want) {
      piece = data.subarray(offset, offset + want);
      used = want;
    } else {
      this.#buf ??= Buffer.allocUnsafe(want);
      used = Math.min(avail, want - this.#fill);
      data.copy(this.#buf, this.#fill, offset, offset + used);
      this.#fill += used;
      if (this.#fill === want) {
        piece = this.#buf;
        this.#buf = null;
        this.#fill = 0;
      }
    }
    if (!piece) return { used, block: null };
    this.#pos += want;
    return { used, block: this.#complete(piece) };
  }

  #complete(piece: Buffer): CheckedBlock | null {
    const g = Math.floor(this.#block / this.#index.groupBlocks);
    if (this.#table === null) {
      this.#index.checkTable(g, piece);
      this.#table = Buffer.from(piece); // may be a view of the source's buffer
      return null;
    }
    const i = this.#block;
    const raw = checkStoredBlock(this.#index, i, piece, this.#table.subarray((i % this.#index.groupBlocks) * DIGEST_BYTES));
    this.#block++;
    if (this.#block % this.#index.groupBlocks === 0 || this.#block === this.entry.blocks) this.#table = null;
    return i >= this.#from ? { index: i, data: raw } : null;
  }

  /** Format 2 has no whole-payload pass: the signed index digest and each block's digest are the check. */
  checkTotal(): void {}
}

/** Decodes block i's stored bytes and checks them against `digest` (its table entry); returns the raw block. */
export function checkStoredBlock(index: StoredIndex, i: number, stored: Buffer, digest: Buffer): Buffer {
  const raw = decodeBlock(stored, index.rawLength(i), `payload ${index.entry.name} block ${i}`);
  if (!createHash('sha256').update(raw).digest().equals(digest.subarray(0, DIGEST_BYTES))) {
    throw new OutpostError('E_BUNDLE_BLOCK_HASH', `payload ${index.entry.name}: block ${i} does not match the signed block index`);
  }
  return raw === stored ? Buffer.from(raw) : raw; // a raw block may be a view of the source's buffer
}
