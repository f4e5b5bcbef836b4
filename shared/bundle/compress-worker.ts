// Format-2 block work (sha256 and zstd of each block) shared between the main thread and worker
// threads. Raw bytes are read into a ring of jobs in one SharedArrayBuffer; a job is a run of
// blocks. The main thread publishes jobs in order; every thread (the main one included) claims the
// next unclaimed job with one atomic add, writes its digests, stored sizes and stored bytes into the
// job's own part of the buffer and marks it done. The main thread takes the results in job order,
// so the bundle does not depend on which thread did what. Claiming instead of a fixed split keeps
// this no slower when no core is free: the main thread then simply does most jobs itself.
// Per block, zstd (one context kept per thread, see BlockEncoder) and sha256 are most of the CPU
// of bundle creation: a second core halves their wall time.
// The worker is code in a string (as in digest-worker.ts), so the single binary needs no extra file.
import { hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { OutpostError } from '../errors.ts';
import { BlockEncoder } from './block-codec.ts';
import { DIGEST_BYTES } from './format.ts';
import { isZeros } from './block-digest.ts';

/** Bytes of raw blocks per job (fewer when a block size does not divide it). */
const JOB_BYTES = 256 * 1024;
/** Jobs per read: one read fills this many jobs of the ring. */
export const READ_JOBS = 4;
/**
 * Reads the ring holds: one being read while the others are compressed and taken; the slack lets
 * this thread go on while a worker that holds the next job in order waits for a core.
 */
const READS_IN_RING = 4;

// ctrl: Int32 words at the end of the buffer
const CLAIM = 0;
const PUBLISHED = 1;
const STOP = 2;
const PARK = 3;
const HEAD = 4; // then done[jobs], then raw length[jobs]

export interface RingShape {
  readonly sab: SharedArrayBuffer;
  readonly blockSize: number;
  readonly level: number;
  readonly jobBlocks: number;
  readonly jobs: number;
  /** Byte offsets of the regions in `sab`. */
  readonly outAt: number;
  readonly digestsAt: number;
  readonly sizesAt: number;
  readonly ctrlAt: number;
}

// Must store blocks exactly as encodeBlock() and BlockEncoder do (block-codec.ts): same options,
// one context kept through the stream's handle where that checks out, raw when the frame is not
// smaller. A test compares bundles made with and without workers byte for byte.
const CODE = `
const { workerData: s, parentPort } = require('node:worker_threads');
const { createZstdCompress, zstdCompressSync, constants } = require('node:zlib');
const { hash } = require('node:crypto');
const jobBytes = s.jobBlocks * s.blockSize;
const ctrl = new Int32Array(s.sab, s.ctrlAt, ${HEAD} + 2 * s.jobs);
const sizes = new Int32Array(s.sab, s.sizesAt, s.jobs * s.jobBlocks);
const all = Buffer.from(s.sab);
const options = (length) => ({ chunkSize: length + 256, params: { [constants.ZSTD_c_compressionLevel]: s.level, [constants.ZSTD_c_checksumFlag]: 0 } });
const perLength = new Map();
const out = Buffer.alloc(2 * 64 * 1024 + 1024);
let frame = null;
try {
  const stream = createZstdCompress(options(64 * 1024));
  const handle = stream._handle;
  const state = stream._writeState;
  if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array)) throw new Error('no zstd handle');
  frame = (raw) => {
    handle.writeSync(constants.ZSTD_e_end, raw, 0, raw.length, out, 0, out.length);
    if (state[1] !== 0 || state[0] === 0) throw new Error('zstd frame not ended in one call');
    return out.subarray(0, out.length - state[0]);
  };
  const probe = Buffer.from('outpost block codec probe '.repeat(40));
  if (!frame(probe).equals(zstdCompressSync(probe, options(probe.length)))) throw new Error('frames differ');
} catch {
  frame = null;
}
function encode(raw) {
  let z;
  if (frame) z = frame(raw);
  else {
    let o = perLength.get(raw.length);
    if (!o) perLength.set(raw.length, (o = options(raw.length)));
    z = zstdCompressSync(raw, o);
  }
  return z.length < raw.length ? z : raw;
}
// a block of zeros (free space) is hashed and compressed once: the same bytes always give the same
const zeros = Buffer.alloc(s.blockSize);
let zeroDigest = null;
let zeroStored = null;
(function run() {
  for (;;) {
    while (Atomics.load(ctrl, ${PARK}) !== 0 && Atomics.load(ctrl, ${STOP}) === 0) Atomics.wait(ctrl, ${PARK}, 1);
    const j = Atomics.add(ctrl, ${CLAIM}, 1);
    for (;;) {
      if (Atomics.load(ctrl, ${STOP}) !== 0) return;
      const p = Atomics.load(ctrl, ${PUBLISHED});
      if (p > j) break;
      Atomics.wait(ctrl, ${PUBLISHED}, p);
    }
    const r = j % s.jobs;
    const len = ctrl[${HEAD} + s.jobs + r];
    let out = s.outAt + r * jobBytes;
    for (let b = 0, at = r * jobBytes; b * s.blockSize < len; b++, at += s.blockSize) {
      const raw = all.subarray(at, at + Math.min(s.blockSize, len - b * s.blockSize));
      const z = raw.length === zeros.length && raw[0] === 0 && raw[raw.length - 1] === 0 && raw.equals(zeros);
      (z ? (zeroDigest ??= hash('sha256', zeros, 'buffer')) : hash('sha256', raw, 'buffer')).copy(all, s.digestsAt + (r * s.jobBlocks + b) * ${DIGEST_BYTES});
      const stored = z ? (zeroStored ??= Buffer.from(encode(zeros))) : encode(raw);
      stored.copy(all, out);
      out += stored.length;
      sizes[r * s.jobBlocks + b] = stored.length;
    }
    Atomics.store(ctrl, ${HEAD} + r, j + 1);
    parentPort.postMessage(j);
  }
})();
`;

/**
 * The ring and, once started, its workers. Used by one async loop on the main thread: publish(),
 * claim() + run(), done() + take().
 */
export class BlockRing {
  readonly shape: RingShape;
  readonly readBytes: number;
  readonly #all: Buffer;
  readonly #ctrl: Int32Array;
  readonly #sizes: Int32Array;
  readonly #workers: Worker[] = [];
  #failed: Error | null = null;
  #pacer: Pacer | null = null;
  #encoder: BlockEncoder | null = null;
  /** A block of zeros as hashed and stored, once met (as in the workers). */
  #zeroDigest: Buffer | null = null;
  #zeroStored: Buffer | null = null;
  #onProgress: () => void = () => {};

  constructor(blockSize: number, level: number) {
    const jobBlocks = Math.max(1, Math.floor(JOB_BYTES / blockSize));
    const jobs = READ_JOBS * READS_IN_RING;
    const jobBytes = jobBlocks * blockSize;
    const outAt = jobs * jobBytes;
    const digestsAt = 2 * outAt;
    const sizesAt = digestsAt + jobs * jobBlocks * DIGEST_BYTES;
    const ctrlAt = sizesAt + jobs * jobBlocks * 4;
    const sab = new SharedArrayBuffer(ctrlAt + (HEAD + 2 * jobs) * 4);
    this.shape = { sab, blockSize, level, jobBlocks, jobs, outAt, digestsAt, sizesAt, ctrlAt };
    this.readBytes = READ_JOBS * jobBytes;
    this.#all = Buffer.from(sab);
    this.#ctrl = new Int32Array(sab, ctrlAt, HEAD + 2 * jobs);
    this.#sizes = new Int32Array(sab, sizesAt, jobs * jobBlocks);
  }

  get jobBytes(): number {
    return this.shape.jobBlocks * this.shape.blockSize;
  }

  get workers(): number {
    return this.#workers.length;
  }

  /** Where the read that fills jobs from `firstJob` on goes. */
  readTarget(firstJob: number): Buffer {
    const at = (firstJob % this.shape.jobs) * this.jobBytes;
    return this.#all.subarray(at, at + this.readBytes);
  }

  /** Starts `count` workers; `onProgress` runs when one finished a job or failed. */
  start(count: number, onProgress: () => void): void {
    this.#onProgress = onProgress;
    this.#pacer = Pacer.open((park) => {
      Atomics.store(this.#ctrl, PARK, park ? 1 : 0);
      if (!park) Atomics.notify(this.#ctrl, PARK);
    });
    for (let n = 0; n < count; n++) {
      // a small young generation: V8's default lets this isolate's garbage (a wrapper per block)
      // grow to some 30 MiB more before it is collected, at no measurable gain in CPU
      const w = new Worker(CODE, { eval: true, workerData: this.shape, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      w.on('message', () => this.#onProgress());
      w.on('error', (err) => this.#fail(err));
      w.on('exit', (code) => {
        if (Atomics.load(this.#ctrl, STOP) === 0) this.#fail(new Error(`exited with code ${code}`));
      });
      this.#workers.push(w);
    }
  }

  #fail(err: Error): void {
    this.#failed ??= new OutpostError('E_BUNDLE_CREATE', `internal: a compression thread failed: ${err.message}`, { cause: err });
    this.#onProgress();
  }

  /** Parks or wakes the workers as the share of CPU this process gets says (see Pacer); cheap. */
  pace(): void {
    this.#pacer?.tick();
  }

  /** Throws once a worker failed: a job it had claimed would never be done. */
  check(): void {
    if (this.#failed) throw this.#failed;
  }

  /** Job `j` holds `rawLength` bytes; publishes every job before it too. */
  publish(j: number, rawLength: number): void {
    this.#ctrl[HEAD + this.shape.jobs + (j % this.shape.jobs)] = rawLength;
    Atomics.store(this.#ctrl, PUBLISHED, j + 1);
    Atomics.notify(this.#ctrl, PUBLISHED);
  }

  /** The next published job no thread has claimed yet, now claimed by the caller; or -1. */
  claim(): number {
    for (;;) {
      const j = Atomics.load(this.#ctrl, CLAIM);
      if (j >= Atomics.load(this.#ctrl, PUBLISHED)) return -1;
      if (Atomics.compareExchange(this.#ctrl, CLAIM, j, j + 1) === j) return j;
    }
  }

  /** Does job `j` on this thread (what a worker does, with a BlockEncoder). */
  run(j: number): void {
    this.#encoder ??= new BlockEncoder(this.shape.level);
    const { blockSize, jobBlocks, jobs, outAt, digestsAt } = this.shape;
    const r = j % jobs;
    const len = this.#ctrl[HEAD + jobs + r]!;
    let out = outAt + r * this.jobBytes;
    for (let b = 0, at = r * this.jobBytes; b * blockSize < len; b++, at += blockSize) {
      const raw = this.#all.subarray(at, at + Math.min(blockSize, len - b * blockSize));
      const z = raw.length === blockSize && isZeros(raw);
      (z ? (this.#zeroDigest ??= hash('sha256', raw, 'buffer')) : hash('sha256', raw, 'buffer')).copy(this.#all, digestsAt + (r * jobBlocks + b) * DIGEST_BYTES);
      const stored = z ? (this.#zeroStored ??= Buffer.from(this.#encoder.encode(raw))) : this.#encoder.encode(raw);
      stored.copy(this.#all, out);
      out += stored.length;
      this.#sizes[r * jobBlocks + b] = stored.length;
    }
    Atomics.store(this.#ctrl, HEAD + r, j + 1);
  }

  done(j: number): boolean {
    return Atomics.load(this.#ctrl, HEAD + (j % this.shape.jobs)) === j + 1;
  }

  /** Hands job `j`'s blocks, in order, to `add` (digest, stored form); both views are reused later. */
  async take(j: number, add: (digest: Buffer, stored: Buffer) => Promise<void> | void): Promise<void> {
    const { blockSize, jobBlocks, jobs, outAt, digestsAt } = this.shape;
    const r = j % jobs;
    const len = this.#ctrl[HEAD + jobs + r]!;
    let out = outAt + r * this.jobBytes;
    for (let b = 0; b * blockSize < len; b++) {
      const d = digestsAt + (r * jobBlocks + b) * DIGEST_BYTES;
      const size = this.#sizes[r * jobBlocks + b]!;
      await add(this.#all.subarray(d, d + DIGEST_BYTES), this.#all.subarray(out, out + size));
      out += size;
    }
  }

  /** Stops and ends the workers (after a failure too: none is left running). */
  async close(): Promise<void> {
    this.#pacer?.close();
    this.#pacer = null;
    this.#encoder?.close();
    this.#encoder = null;
    Atomics.store(this.#ctrl, STOP, 1);
    Atomics.notify(this.#ctrl, PUBLISHED);
    Atomics.notify(this.#ctrl, PARK);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/**
 * Workers help only when a core is free. Where none is (the machine busy with other work, whose
 * scheduler shares CPU fairly between sessions), two threads get the time one would and only add
 * their overhead (some 15 % CPU). The main thread's own run-queue wait (Linux schedstat) shows
 * which case holds: waiting a quarter of the time or more means no free core, so the workers are
 * parked; after a while they are woken for one window to probe again, the pause doubling each
 * time the probe fails. Without schedstat the workers are never parked.
 */
class Pacer {
  static readonly WINDOW_MS = 100;
  static readonly WAITING = 0.25;
  static readonly FIRST_PAUSE_MS = 400;
  static readonly MAX_PAUSE_MS = 3200;
  readonly #fd: number;
  readonly #set: (park: boolean) => void;
  readonly #buf = Buffer.alloc(96);
  #at = performance.now();
  #waited: number;
  #parkedUntil = 0;
  #pause = Pacer.FIRST_PAUSE_MS;

  static open(set: (park: boolean) => void): Pacer | null {
    try {
      return new Pacer(openSync('/proc/thread-self/schedstat', 'r'), set);
    } catch {
      return null;
    }
  }

  private constructor(fd: number, set: (park: boolean) => void) {
    this.#fd = fd;
    this.#set = set;
    this.#waited = this.#readWaited();
  }

  /** Nanoseconds this thread has waited on a run queue (the second field). */
  #readWaited(): number {
    const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    return Number(this.#buf.toString('latin1', 0, n).split(' ')[1]);
  }

  tick(): void {
    const now = performance.now();
    if (this.#parkedUntil > 0) {
      if (now < this.#parkedUntil) return;
      this.#parkedUntil = 0; // probe: one window with the workers
      this.#set(false);
      this.#restart(now);
      return;
    }
    const wall = now - this.#at;
    if (wall < Pacer.WINDOW_MS) return;
    const waited = this.#readWaited();
    const share = (waited - this.#waited) / 1e6 / wall;
    this.#restart(now, waited);
    if (share < Pacer.WAITING) {
      this.#pause = Pacer.FIRST_PAUSE_MS;
      return;
    }
    this.#set(true);
    this.#parkedUntil = now + this.#pause;
    this.#pause = Math.min(2 * this.#pause, Pacer.MAX_PAUSE_MS);
  }

  #restart(now: number, waited = this.#readWaited()): void {
    this.#at = now;
    this.#waited = waited;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
