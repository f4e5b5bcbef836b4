// The seam between a block source and the slot: cut blocks go in (from a bundle stream, or any
// other source of blocks with their signed digests), verified blocks come out, in order.
//
//   source → cut into pool buffers → hash (a few blocks in flight) → compare → sink, in order
//
// A block reaches the sink only after (1) its own digest matched the signed index and (2) every
// item queued before it reached the sink. The first mismatch, sink failure or abort stops the
// line: nothing queued after it is handed on. When the producer fails (a cut stream, a fault
// later in the bundle), the blocks it queued before are still handed on, each only if it
// verifies — as if they had been written one by one before the fault was read. Hashing and the sink's writes overlap: while the sink
// writes block i (on libuv's thread pool), the caller reads and hashes blocks i+1 … i+depth.
// The sink is called by one item at a time, never concurrently.
import { hash } from 'node:crypto';
import { OutpostError } from '../../shared/errors.ts';
import type { BlockPool } from './block-pool.ts';
import type { UncheckedBlock } from './block-cutter.ts';
import type { BlockSink } from './types.ts';

/** sha256 of one block; may complete later (another thread) or at once. */
export type BlockHasher = (data: Buffer) => Buffer | Promise<Buffer>;

/**
 * On the calling thread with the CPU's SHA instructions. Measured against WebCrypto's
 * thread-pool digest (scripts/bench-install.ts): the pool version copies every block into a
 * fresh allocation before hashing and cost 2–2.5× the CPU for no gain in wall time, since the
 * reads and writes already run on the thread pool while this thread hashes.
 */
export const hashOnCaller: BlockHasher = (data) => hash('sha256', data, 'buffer'); // one-shot: no Hash object per 4 KiB block

/** Most blocks queued (hashing or waiting for the sink) at once. */
export const MAX_BLOCKS_IN_FLIGHT = 4;
/** …and most bytes, so 8 MiB blocks do not take 40 MiB: above it only two blocks are queued. */
export const MAX_BYTES_IN_FLIGHT = 8 << 20;

export interface PipelineOptions {
  readonly hash?: BlockHasher;
  readonly maxBlocks?: number;
  readonly maxBytes?: number;
  /** Checked before each hand-over: an abort stops the line after the one in progress. */
  readonly signal?: AbortSignal;
}

const ignore = () => {};

export class VerifyPipeline {
  readonly sink: BlockSink;
  readonly #pool: BlockPool;
  readonly #hash: BlockHasher;
  readonly #maxBlocks: number;
  readonly #maxBytes: number;
  readonly #signal: AbortSignal | undefined;
  /** Hand-over of the last queued item; each item chains on the one before it. */
  #tail: Promise<void> = Promise.resolve();
  readonly #queued: Array<{ done: Promise<void>; bytes: number }> = [];
  #queuedBytes = 0;
  #stopped = false;

  constructor(sink: BlockSink, pool: BlockPool, opts: PipelineOptions = {}) {
    this.sink = sink;
    this.#pool = pool;
    this.#hash = opts.hash ?? hashOnCaller;
    this.#maxBlocks = opts.maxBlocks ?? MAX_BLOCKS_IN_FLIGHT;
    this.#maxBytes = opts.maxBytes ?? MAX_BYTES_IN_FLIGHT;
    this.#signal = opts.signal;
  }

  /**
   * Queues a cut block; its hash starts now. The pipeline owns b.data from here (it returns it to
   * the pool once handed on). Resolves when there is room for the next block; rejects with the
   * first failure of the line.
   */
  async block(b: UncheckedBlock): Promise<void> {
    if (this.#stopped) throw new OutpostError('E_INTERNAL', 'block queued after the pipeline stopped');
    let digest: Promise<Buffer>;
    try {
      digest = Promise.resolve(this.#hash(b.data));
    } catch (err) {
      digest = Promise.reject(err);
    }
    digest.catch(ignore); // observed by the hand-over below
    const done = this.#tail.then(() => this.#handOn(b, digest));
    done.catch(ignore); // reported through #tail and the waits below
    this.#tail = done;
    this.#queued.push({ done, bytes: b.data.length });
    this.#queuedBytes += b.data.length;
    while (this.#queued.length >= this.#maxBlocks || (this.#queued.length > 1 && this.#queuedBytes > this.#maxBytes)) {
      const oldest = this.#queued.shift()!;
      this.#queuedBytes -= oldest.bytes;
      await oldest.done;
    }
  }

  /** Queues another sink call (begin, end), in order with the blocks. */
  call(fn: (sink: BlockSink) => Promise<void>): void {
    const done = this.#tail.then(() => {
      this.#signal?.throwIfAborted();
      return fn(this.sink);
    });
    done.catch(ignore);
    this.#tail = done;
  }

  /** Waits until everything queued was handed on; throws the line's first failure. */
  async flush(): Promise<void> {
    await this.#tail;
    this.#queued.length = 0;
    this.#queuedBytes = 0;
  }

  /**
   * The producer failed with `err` and queues nothing more. Hands on what it queued (each block
   * only if it verifies; no write may outlive the caller's error) and returns the error to
   * report: a failure of an item queued earlier (a bad block earlier in the stream) wins.
   */
  async stop(err: unknown): Promise<unknown> {
    this.#stopped = true;
    try {
      await this.#tail;
    } catch (earlier) {
      return earlier;
    }
    return err;
  }

  async #handOn(b: UncheckedBlock, digest: Promise<Buffer>): Promise<void> {
    const got = await digest;
    if (!got.equals(b.expected)) {
      throw new OutpostError('E_BUNDLE_BLOCK_HASH', `payload ${b.payload.name}: block ${b.index} does not match the signed block index`);
    }
    this.#signal?.throwIfAborted();
    await this.sink.block(b.payload, b.index, b.data);
    this.#pool.give(b.data);
  }
}
