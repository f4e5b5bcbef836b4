// Format-2 counterpart of BlockCutter: cuts a payload entry's stream into group tables and
// stored blocks. Each table is checked against its signed group digest here (it is index, not
// payload); each stored block is decoded — bounded by its length, so a bomb stops at one block —
// into a pool buffer and handed to the verify pipeline with its table digest as the expected
// hash. Nothing decoded reaches the sink before the pipeline compared that digest.
import { OutpostError } from '../../shared/errors.ts';
import { DIGEST_BYTES } from '../../shared/bundle/format.ts';
import { BlockDecoder } from '../../shared/bundle/block-decoder.ts';
import { digestIs, type StoredIndex } from '../../shared/bundle/stored-index.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';
import type { BlockPool } from './block-pool.ts';
import type { UncheckedBlock } from './block-cutter.ts';

/** Where a stream must start to deliver block `fromBlock` of a format-2 payload: its group's table. */
export function storedResumeOffset(index: StoredIndex, fromBlock: number): number {
  if (fromBlock >= index.entry.blocks) return index.entry.storedSize!;
  return index.group(Math.floor(fromBlock / index.groupBlocks)).tableOffset;
}

/** Most blocks in one raw span: a pipeline run's worth of 4 KiB blocks. */
export const SPAN_BLOCKS = 64;

export class StoredBlockCutter {
  readonly entry: PayloadEntry;
  readonly #index: StoredIndex;
  readonly #pool: BlockPool;
  /** Blocks before this are read (their group's table is needed) but not decoded or handed on. */
  readonly #from: number;
  #block: number;
  #table: Buffer | null = null;
  #buf: Buffer | null = null;
  #fill = 0;
  #pos: number;
  /** One zstd context for all of this payload's blocks (made at the first compressed block). */
  #decoder: BlockDecoder | null = null;

  constructor(index: StoredIndex, pool: BlockPool, fromBlock = 0) {
    this.entry = index.entry;
    this.#index = index;
    this.#pool = pool;
    this.#from = fromBlock;
    this.#block = fromBlock >= index.entry.blocks ? index.entry.blocks : fromBlock - (fromBlock % index.groupBlocks);
    this.#pos = storedResumeOffset(index, fromBlock);
  }

  get done(): boolean {
    return this.#block >= this.entry.blocks;
  }

  /** Stored bytes still expected for this payload. */
  get remaining(): number {
    return this.entry.storedSize! - this.#pos - this.#fill;
  }

  #want(): number {
    if (this.#table === null) return this.#index.group(Math.floor(this.#block / this.#index.groupBlocks)).tableLength;
    return this.#index.storedLength(this.#block);
  }

  /** Same contract as BlockCutter.push; `data` may be reused by its owner once this returns. */
  push(data: Buffer, offset: number): { used: number; block: UncheckedBlock | null } {
    if (this.done) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `payload ${this.entry.name}: more data than its stored size`);
    const want = this.#want();
    const avail = data.length - offset;
    let piece: Buffer | null = null;
    let used: number;
    if (this.#fill === 0 && avail >= want) {
      const span = this.#rawSpan(data, offset, avail);
      if (span) return span;
      piece = data.subarray(offset, offset + want);
      used = want;
    } else {
      this.#buf ??= Buffer.allocUnsafe(want);
      used = Math.min(avail, want - this.#fill);
      this.#buf.set(data.subarray(offset, offset + used), this.#fill);
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

  /**
   * Blocks from the current one on that are stored raw, whole (the payload's block size) and in
   * this group, as far as data[offset..] holds them (SPAN_BLOCKS at most): one item for the
   * pipeline, lent like a single raw block. Null when fewer than two qualify.
   */
  #rawSpan(data: Buffer, offset: number, avail: number): { used: number; block: UncheckedBlock } | null {
    if (this.#table === null || this.#block < this.#from) return null;
    const bs = this.entry.blockSize;
    const gb = this.#index.groupBlocks;
    const first = this.#block;
    const end = Math.min(first - (first % gb) + gb, this.entry.blocks, first + SPAN_BLOCKS, first + Math.floor(avail / bs));
    let i = first;
    while (i < end && this.#index.storedLength(i) === bs) i++; // stored ≤ raw ≤ bs: bs stored bytes are raw
    const n = i - first;
    if (n < 2) return null;
    const k = first % gb;
    const block: UncheckedBlock = {
      payload: this.entry, index: first, data: data.subarray(offset, offset + n * bs),
      expected: this.#table.subarray(k * DIGEST_BYTES, (k + n) * DIGEST_BYTES), lent: true, count: n,
    };
    this.#block = i;
    this.#pos += n * bs;
    if (i % gb === 0 || i === this.entry.blocks) this.#table = null;
    if (this.done) this.#closeDecoder();
    return { used: n * bs, block };
  }

  #complete(piece: Buffer): UncheckedBlock | null {
    const g = Math.floor(this.#block / this.#index.groupBlocks);
    if (this.#table === null) {
      this.#index.checkTable(g, piece);
      this.#table = Buffer.from(piece);
      return null;
    }
    const i = this.#block++;
    const k = i % this.#index.groupBlocks;
    const expected = this.#table.subarray(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES);
    if (this.#block % this.#index.groupBlocks === 0 || this.#block === this.entry.blocks) this.#table = null;
    if (i < this.#from) return null;
    const rawLength = this.#index.rawLength(i);
    let block: UncheckedBlock;
    if (piece.length === rawLength) {
      block = { payload: this.entry, index: i, data: piece, expected, lent: true }; // stored raw: no copy here
    } else {
      const raw = (this.#decoder ??= new BlockDecoder(this.entry.blockSize)).decode(piece, rawLength, `payload ${this.entry.name} block ${i}`);
      const data = this.#pool.take(raw.length); // the decoder's buffer is reused by the next block
      data.set(raw);
      block = { payload: this.entry, index: i, data, expected };
    }
    if (this.done) this.#closeDecoder();
    return block;
  }

  /**
   * Stored bytes from here to the end of the next `items` tables or compressed blocks, `most`
   * bytes at most. A 64 KiB step of a compressible image may hold thousands of blocks (a zero
   * block is stored in 15 bytes); the parser cuts its steps to this so the blocks one step
   * decodes stay a few. Blocks stored raw are not counted: they are lent, not decoded into
   * buffers of their own.
   */
  stepLimit(items: number, most = Infinity): number {
    const bs = this.entry.blockSize;
    const gb = this.#index.groupBlocks;
    const blocks = this.entry.blocks;
    let i = this.#block;
    let table = this.#table === null;
    let bytes = -this.#fill;
    for (let n = 0; n < items && i < blocks && bytes < most; ) {
      if (table) {
        bytes += Math.min(gb, blocks - i) * DIGEST_BYTES;
        table = false;
        n++;
      } else {
        const stored = this.#index.storedLength(i++);
        bytes += stored;
        if (stored !== bs) n++;
        table = i % gb === 0;
      }
    }
    return Math.max(1, bytes);
  }

  /** Nothing pooled is held between calls. */
  release(): void {
    this.#buf = null;
    this.#fill = 0;
    this.#closeDecoder();
  }

  #closeDecoder(): void {
    this.#decoder?.close();
    this.#decoder = null;
  }
}

/**
 * Decodes block i's stored bytes and checks them against `digest` (its table entry); returns the
 * raw block, valid until the decoder's next call. For callers outside the stream pipeline (the
 * delta fetcher), which hand on only what passed. One decoder for many blocks: a zstd context per
 * block costs more than decoding it.
 */
export function checkStoredBlock(index: StoredIndex, i: number, stored: Buffer, digest: Buffer, decoder: BlockDecoder): Buffer {
  const raw = decoder.decode(stored, index.rawLength(i), `payload ${index.entry.name} block ${i}`);
  if (!digestIs(raw, digest)) {
    throw new OutpostError('E_BUNDLE_BLOCK_HASH', `payload ${index.entry.name}: block ${i} does not match the signed block index`);
  }
  return raw;
}
