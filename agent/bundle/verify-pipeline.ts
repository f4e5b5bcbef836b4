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
//
// Small blocks (format 2: 4 KiB) are gathered: a block whose digest the caller's thread already
// matched is copied into a run buffer at once, and a run of consecutive verified blocks goes to
// the sink in one call (one write, one progress step, one promise chain instead of one per block:
// for 4 KiB blocks that per-block machinery cost more CPU than hashing). A run is queued when it
// is full, before anything else is queued (a block that failed, a begin or end), and when the
// producer stops or flushes: the sink sees the same blocks in the same order as one by one.
import { OutpostError } from '../../shared/errors.ts';
import { BlockPool } from './block-pool.ts';
import { digestIs } from '../../shared/bundle/stored-index.ts';
import { blockDigestLatin1 } from '../../shared/bundle/block-digest.ts';
import { DIGEST_BYTES } from '../../shared/bundle/format.ts';
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
export const hashOnCaller: BlockHasher = (data) => Buffer.from(blockDigestLatin1(data), 'latin1');

/** Most blocks queued (hashing or waiting for the sink) at once. */
export const MAX_BLOCKS_IN_FLIGHT = 4;
/** …and most bytes, so 8 MiB blocks do not take 40 MiB: above it only two blocks are queued. */
export const MAX_BYTES_IN_FLIGHT = 8 << 20;
/**
 * Size of a run of gathered blocks (the slot writes runs as they are; the page cache merges the
 * writes). 1 MiB runs cost 2 MiB more private memory than 256 KiB ones, and as much CPU.
 */
export const RUN_BYTES = 256 << 10;
/** Blocks up to this size are gathered (format 2's 4 KiB); per larger block the machinery costs little. */
export const GATHER_MAX_BLOCK = 16 << 10;

export interface PipelineOptions {
  readonly hash?: BlockHasher;
  readonly maxBlocks?: number;
  readonly maxBytes?: number;
  /** Run size; 0 hands every block on by itself. */
  readonly runBytes?: number;
  /** Checked before each hand-over: an abort stops the line after the one in progress. */
  readonly signal?: AbortSignal;
}

const ignore = () => {};

/** Verified blocks gathered for one sink call. */
interface Run {
  readonly payload: UncheckedBlock['payload'];
  readonly first: number;
  readonly buf: Buffer;
  next: number;
  fill: number;
}

export class VerifyPipeline {
  readonly sink: BlockSink;
  readonly #pool: BlockPool;
  readonly #hash: BlockHasher;
  /** No hasher given: small blocks are hashed and compared here, on the caller's thread. */
  readonly #onCaller: boolean;
  readonly #maxBlocks: number;
  readonly #maxBytes: number;
  readonly #signal: AbortSignal | undefined;
  /** Hand-over of the last queued item; each item chains on the one before it. */
  #tail: Promise<void> = Promise.resolve();
  readonly #queued: Array<{ done: Promise<void>; bytes: number }> = [];
  #queuedBytes = 0;
  #stopped = false;
  readonly #runBytes: number;
  readonly #gatherMax: number;
  /** Run buffers, reused (as many as may be queued, plus the one filling). */
  readonly #runs: BlockPool;
  #run: Run | null = null;

  constructor(sink: BlockSink, pool: BlockPool, opts: PipelineOptions = {}) {
    this.sink = sink;
    this.#pool = pool;
    this.#hash = opts.hash ?? hashOnCaller;
    this.#onCaller = opts.hash === undefined;
    this.#maxBlocks = opts.maxBlocks ?? MAX_BLOCKS_IN_FLIGHT;
    this.#maxBytes = opts.maxBytes ?? MAX_BYTES_IN_FLIGHT;
    this.#signal = opts.signal;
    this.#runBytes = opts.runBytes ?? RUN_BYTES;
    this.#gatherMax = Math.min(GATHER_MAX_BLOCK, this.#runBytes / 2);
    this.#runs = new BlockPool(this.#maxBlocks + 1);
  }

  /**
   * Queues a cut block; its hash starts now. The pipeline owns b.data from here (it returns it to
   * the pool once handed on or gathered), or copies it when it is lent. Returns a promise only
   * when the caller must wait for room (it rejects with the first failure of the line).
   */
  block(b: UncheckedBlock): Promise<void> | undefined {
    if (this.#stopped) throw new OutpostError('E_INTERNAL', 'block queued after the pipeline stopped');
    const n = b.count ?? 1;
    if (n > 1) this.#span(b, n);
    // Digests compared as latin1 strings (digestIs): a Buffer result costs a backing store per
    // block, a third more CPU than hashing 4 KiB itself.
    else if (this.#onCaller && b.data.length <= this.#gatherMax && digestIs(b.data, b.expected)) {
      this.#gather(b.payload, b.index, b.data, b.data.length);
      if (!b.lent) this.#pool.give(b.data);
    } else this.#one(b);
    return this.#room();
  }

  /**
   * A span of n blocks: each is hashed and compared here; the verified ones before the first
   * mismatch are gathered in one copy, and from the mismatch on each block goes the way of a
   * single one (the mismatch fails at its hand-over, in order, and nothing after it is handed on).
   */
  #span(b: UncheckedBlock, n: number): void {
    const bs = b.data.length / n;
    let k = 0;
    if (this.#onCaller && bs <= this.#gatherMax) {
      const want = b.expected.toString('latin1'); // one string for the span's digests
      while (k < n && blockDigestLatin1(b.data.subarray(k * bs, (k + 1) * bs)) === want.slice(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES)) k++;
      if (k > 0) this.#gather(b.payload, b.index, b.data.subarray(0, k * bs), bs);
    }
    for (; k < n; k++) {
      this.#one({
        payload: b.payload, index: b.index + k, data: b.data.subarray(k * bs, (k + 1) * bs),
        expected: b.expected.subarray(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES), lent: b.lent,
      });
    }
  }

  /** Queues one block to be hashed (by #hash) and compared at its hand-over. */
  #one(b: UncheckedBlock): void {
    if (b.lent) {
      const data = this.#pool.take(b.data.length); // kept past this call: copied
      data.set(b.data);
      b = { ...b, data, lent: false };
    }
    let digest: Promise<Buffer>;
    try {
      digest = Promise.resolve(this.#hash(b.data));
    } catch (err) {
      digest = Promise.reject(err);
    }
    digest.catch(ignore); // observed by the hand-over below (a mismatch fails there, in order)
    this.#closeRun(); // gathered blocks go first
    this.#queue(() => this.#handOn(b, digest), b.data.length);
  }

  /**
   * Verified blocks of `bs` bytes each (data.length is a multiple of bs: a short last block of a
   * payload comes alone), from block `first` on: into runs, queued when full or when the next block does not follow. A
   * block from the pool goes back to it.
   */
  #gather(payload: UncheckedBlock['payload'], first: number, data: Buffer, bs: number): void {
    for (let off = 0, i = first; off < data.length; ) {
      let run = this.#run;
      if (run && (run.payload !== payload || run.next !== i || run.fill + bs > run.buf.length)) {
        this.#closeRun();
        run = null;
      }
      run ??= this.#run = { payload, first: i, buf: this.#runs.take(this.#runBytes), next: i, fill: 0 };
      const take = Math.min(data.length - off, Math.floor((run.buf.length - run.fill) / bs) * bs);
      run.buf.set(off === 0 && take === data.length ? data : data.subarray(off, off + take), run.fill); // set, not copy(): a builtin, fast before the JIT warms up
      run.fill += take;
      run.next += take / bs;
      off += take;
      i += take / bs;
      if (run.fill + bs > run.buf.length) this.#closeRun(); // the next one would not fit
    }
  }

  /** Queues the run being gathered, if any. */
  #closeRun(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    this.#queue(async () => {
      this.#signal?.throwIfAborted();
      await this.sink.block(run.payload, run.first, run.buf.subarray(0, run.fill));
      this.#runs.give(run.buf);
    }, run.fill);
  }

  #queue(handOn: () => Promise<void>, bytes: number): void {
    const done = this.#tail.then(handOn);
    done.catch(ignore); // reported through #tail and the waits below
    this.#tail = done;
    this.#queued.push({ done, bytes });
    this.#queuedBytes += bytes;
  }

  #full(): boolean {
    return this.#queued.length >= this.#maxBlocks || (this.#queued.length > 1 && this.#queuedBytes > this.#maxBytes);
  }

  /** Waits while too much is queued. */
  #room(): Promise<void> | undefined {
    if (!this.#full()) return undefined;
    return (async () => {
      while (this.#full()) {
        const oldest = this.#queued.shift()!;
        this.#queuedBytes -= oldest.bytes;
        await oldest.done;
      }
    })();
  }

  /** Queues another sink call (begin, end), in order with the blocks. */
  call(fn: (sink: BlockSink) => Promise<void>): void {
    this.#closeRun();
    const done = this.#tail.then(() => {
      this.#signal?.throwIfAborted();
      return fn(this.sink);
    });
    done.catch(ignore);
    this.#tail = done;
  }

  /** Waits until everything queued was handed on; throws the line's first failure. */
  async flush(): Promise<void> {
    this.#closeRun();
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
    this.#closeRun(); // what was gathered verified: it is handed on like queued blocks
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
