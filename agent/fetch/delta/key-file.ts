// The delta's lookup table of local blocks (or groups), kept in scratch files instead of memory:
// the same 8-byte entries as key-table.ts (40 bits of the sha256, 24 of position), but in memory
// only a fence per page of the sorted file. Held whole, the table of a 2 GiB slot took 4 MiB,
// and it grew with the image, as the memory goal (flat to 4 GiB) forbids.
//
// Two files: the keys in position order (what sits at a given place in a slot: most blocks of a
// changed group are found where they were, one read per window serves them), and all keys sorted
// (runs sorted in memory while the slots are scanned, then merged) for blocks that moved, one
// page read per lookup. Lookups are candidates only, as before: the caller checks the full digest.
import { closeSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { OutpostError } from '../../../shared/errors.ts';
import { HI, keyHi, LO, lowerBound, MAX_POSITIONS, type LocalKeys } from './key-table.ts';

/** Entries sorted in memory at once while scanning (1 MiB). */
const RUN = 1 << 17;
/** Entries per page of the sorted file: a lookup reads one page (2 KiB). */
const PAGE = 256;
/** Positional entries written, or read, at once (64 KiB). */
const CHUNK = 1 << 13;
/** Entries read at once from each run while merging. */
const MERGE_READ = 1 << 12;

/** Entries as 64-bit words (for the native sort) and as 32-bit halves (read without BigInts). */
class Entries {
  readonly big: BigUint64Array;
  readonly w: Uint32Array;
  readonly bytes: Uint8Array;
  constructor(n: number) {
    this.big = new BigUint64Array(n);
    this.w = new Uint32Array(this.big.buffer);
    this.bytes = new Uint8Array(this.big.buffer);
  }
}

/** Positional entries read back from chunk `at` (-1: none). */
interface Chunk {
  at: number;
  readonly e: Entries;
}

const scratchError = (path: string, err: unknown) =>
  new OutpostError('E_STATE_WRITE', `delta scratch file ${path}: ${(err as Error).message}`, { cause: err });

function writeAll(fd: number, bytes: Uint8Array, length: number, at: number, path: string): void {
  try {
    for (let done = 0; done < length; ) done += writeSync(fd, bytes, done, length - done, at + done);
  } catch (err) {
    throw scratchError(path, err);
  }
}

function readAll(fd: number, bytes: Uint8Array, length: number, at: number, path: string): void {
  try {
    for (let done = 0; done < length; ) {
      const n = readSync(fd, bytes, done, length - done, at + done);
      if (n === 0) throw new Error(`ends at ${at + done}`);
      done += n;
    }
  } catch (err) {
    throw scratchError(path, err);
  }
}

/** The files of the table at `prefix`: positions, sorted keys, and the sorted runs while scanning. */
export function keyFilePaths(prefix: string): { pos: string; keys: string; runs: string } {
  return { pos: `${prefix}.pos`, keys: `${prefix}.keys`, runs: `${prefix}.runs` };
}

export class KeyFile implements LocalKeys {
  readonly #posPath: string;
  readonly #keysPath: string;
  readonly #runsPath: string;
  #posFd: number;
  #keysFd = -1;
  #runsFd: number;
  /** Positions given out. */
  #n = 0;
  /** Entries in the sorted file (a run of one key keeps its first position only). */
  #m = 0;
  #prevHi = -1;
  #prevTop = -1;
  #run: Entries | null;
  #runFill = 0;
  /** Entries per run written, in order. */
  readonly #runs: number[] = [];
  /** Positional entries not yet written (positions from #posFlushed on). */
  #pos: Entries | null = new Entries(CHUNK);
  #posFlushed = 0;
  /** First entry (hi, lo) of each page of the sorted file. */
  #fences = new Uint32Array(0);
  readonly #page = new Entries(PAGE);
  /** Two chunks of positional entries read back (a changed group looks in two slots by turns). */
  readonly #chunks: Chunk[] = [{ at: -1, e: new Entries(CHUNK) }, { at: -1, e: new Entries(CHUNK) }];
  #done = false;

  /** Files `${prefix}.pos` and `${prefix}.keys` (and `.runs` while scanning), made afresh; runEntries: for tests. */
  constructor(prefix: string, o: { runEntries?: number } = {}) {
    this.#run = new Entries(o.runEntries ?? RUN);
    ({ pos: this.#posPath, keys: this.#keysPath, runs: this.#runsPath } = keyFilePaths(prefix));
    try {
      this.#posFd = openSync(this.#posPath, 'w+');
    } catch (err) {
      throw scratchError(this.#posPath, err);
    }
    try {
      this.#runsFd = openSync(this.#runsPath, 'w+');
    } catch (err) {
      this.#close();
      throw scratchError(this.#runsPath, err);
    }
  }

  /** Positions given out so far. */
  get size(): number {
    return this.#n;
  }

  /** Appends the key of a digest given as a 'binary' (latin1) string; returns its position. */
  add(digest: string): number {
    if (this.#done) throw new Error('KeyFile: add after finish');
    const k = this.#n++;
    if (k >= MAX_POSITIONS) return k;
    const hi = keyHi(digest);
    const top = digest.charCodeAt(4);
    const lo = ((top << 24) | k) >>> 0;
    const p = this.#pos!;
    const i = k - this.#posFlushed;
    p.w[2 * i + HI] = hi;
    p.w[2 * i + LO] = lo;
    if (i + 1 === CHUNK) this.#flushPositions();
    const repeat = hi === this.#prevHi && top === this.#prevTop;
    this.#prevHi = hi;
    this.#prevTop = top;
    if (repeat) return k;
    const r = this.#run!;
    r.w[2 * this.#runFill + HI] = hi;
    r.w[2 * this.#runFill + LO] = lo;
    if (++this.#runFill === r.big.length) this.#flushRun();
    return k;
  }

  #flushPositions(): void {
    const n = Math.min(this.#n, MAX_POSITIONS) - this.#posFlushed;
    if (n <= 0) return;
    writeAll(this.#posFd, this.#pos!.bytes, n * 8, this.#posFlushed * 8, this.#posPath);
    this.#posFlushed += n;
  }

  #flushRun(): void {
    if (this.#runFill === 0) return;
    const r = this.#run!;
    r.big.subarray(0, this.#runFill).sort();
    writeAll(this.#runsFd, r.bytes, this.#runFill * 8, this.#m * 8, this.#runsPath);
    this.#runs.push(this.#runFill);
    this.#m += this.#runFill;
    this.#runFill = 0;
  }

  /** Ends the scan: the runs are merged into the sorted file, with a fence per page. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#flushPositions();
    // one run in all (what is left of it, or a full one already written): the run buffer holds it
    const single = this.#runs.length + (this.#runFill > 0 ? 1 : 0) <= 1;
    this.#flushRun(); // sorts what is left of the run
    this.#fences = new Uint32Array(2 * Math.ceil(this.#m / PAGE));
    if (single) {
      // Sorted already: the runs file is the sorted file, its fences taken from memory.
      for (let j = 0; j < this.#m; j += PAGE) this.#fence(j, this.#run!.w[2 * j + HI]!, this.#run!.w[2 * j + LO]!);
      this.#pos = this.#run = null;
      try {
        renameSync(this.#runsPath, this.#keysPath); // the open descriptor follows the file
      } catch (err) {
        throw scratchError(this.#keysPath, err);
      }
      this.#keysFd = this.#runsFd;
      this.#runsFd = -1;
      return;
    }
    this.#pos = this.#run = null;
    try {
      this.#keysFd = openSync(this.#keysPath, 'w+');
    } catch (err) {
      throw scratchError(this.#keysPath, err);
    }
    this.#merge();
    closeSync(this.#runsFd);
    this.#runsFd = -1;
    try {
      unlinkSync(this.#runsPath);
    } catch {
      // already gone
    }
  }

  /** Entry j of the sorted file, (hi, lo), starts a page. */
  #fence(j: number, hi: number, lo: number): void {
    this.#fences[(j / PAGE) * 2] = hi;
    this.#fences[(j / PAGE) * 2 + 1] = lo;
  }

  /** K-way merge of the sorted runs into the sorted file, fences taken as it is written. */
  #merge(): void {
    const k = this.#runs.length;
    const start: number[] = [];
    for (let r = 0, at = 0; r < k; at += this.#runs[r]!, r++) start.push(at);
    const bufs = this.#runs.map(() => new Entries(MERGE_READ));
    const next = new Float64Array(k); // entries of each run read so far
    const fill = new Int32Array(k);
    const cur = new Int32Array(k);
    const refill = (r: number): boolean => {
      const left = this.#runs[r]! - next[r]!;
      if (left <= 0) return false;
      const n = Math.min(MERGE_READ, left);
      readAll(this.#runsFd, bufs[r]!.bytes, n * 8, (start[r]! + next[r]!) * 8, this.#runsPath);
      next[r]! += n;
      fill[r] = n;
      cur[r] = 0;
      return true;
    };
    const hiOf = (r: number) => bufs[r]!.w[2 * cur[r]! + HI]!;
    const loOf = (r: number) => bufs[r]!.w[2 * cur[r]! + LO]!;
    const less = (a: number, b: number) => hiOf(a) < hiOf(b) || (hiOf(a) === hiOf(b) && loOf(a) < loOf(b));
    // a binary heap of runs by their current entry
    const heap: number[] = [];
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) return;
        const c = l + 1 < heap.length && less(heap[l + 1]!, heap[l]!) ? l + 1 : l;
        if (!less(heap[c]!, heap[i]!)) return;
        [heap[c], heap[i]] = [heap[i]!, heap[c]!];
        i = c;
      }
    };
    for (let r = 0; r < k; r++) if (refill(r)) heap.push(r);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    const out = new Entries(CHUNK);
    let o = 0;
    let written = 0;
    while (heap.length > 0) {
      const r = heap[0]!;
      const hi = hiOf(r);
      const lo = loOf(r);
      out.w[2 * o + HI] = hi;
      out.w[2 * o + LO] = lo;
      const j = written + o;
      if (j % PAGE === 0) this.#fence(j, hi, lo);
      if (++o === CHUNK) {
        writeAll(this.#keysFd, out.bytes, o * 8, written * 8, this.#keysPath);
        written += o;
        o = 0;
      }
      if (++cur[r]! === fill[r] && !refill(r)) {
        heap[0] = heap[heap.length - 1]!;
        heap.pop();
      }
      if (heap.length > 0) down(0);
    }
    writeAll(this.#keysFd, out.bytes, o * 8, written * 8, this.#keysPath);
  }

  /** Whether position `pos` holds the key of the digest at `at` in `table`. */
  keyIs(pos: number, table: Buffer, at: number): boolean {
    if (pos < 0 || pos >= Math.min(this.#n, MAX_POSITIONS)) return false;
    const c = Math.floor(pos / CHUNK);
    const [first, second] = this.#chunks as [Chunk, Chunk];
    let ch = first.at === c ? first : second.at === c ? second : undefined;
    if (!ch) {
      ch = this.#chunks.pop()!; // the one read longer ago
      this.#chunks.unshift(ch);
      ch.at = -1;
      readAll(this.#posFd, ch.e.bytes, Math.min(CHUNK, Math.min(this.#n, MAX_POSITIONS) - c * CHUNK) * 8, c * CHUNK * 8, this.#posPath);
      ch.at = c;
    }
    const i = pos - c * CHUNK;
    return ch.e.w[2 * i + HI] === table.readUInt32BE(at) && ch.e.w[2 * i + LO]! >>> 24 === table[at + 4];
  }

  /** Position of the first entry (in scan order) whose key is that of the digest at `at`, or -1. */
  find(table: Buffer, at = 0): number {
    if (!this.#done) throw new Error('KeyFile: find before finish');
    const hi = table.readUInt32BE(at);
    const top = table[at + 4]!;
    const f = this.#fences;
    const pages = f.length / 2;
    // a: the first page whose first key is not below the digest's (fences are (hi, lo) pairs)
    const a = lowerBound(f, pages, 0, hi, top);
    // The first entry of that key is at the start of page a, or in the page before it.
    if (a > 0) {
      const p = a - 1;
      const n = Math.min(PAGE, this.#m - p * PAGE);
      readAll(this.#keysFd, this.#page.bytes, n * 8, p * PAGE * 8, this.#keysPath);
      const w = this.#page.w;
      const x = lowerBound(w, n, HI, hi, top);
      if (x < n) return w[2 * x + HI] === hi && w[2 * x + LO]! >>> 24 === top ? w[2 * x + LO]! & 0xffffff : -1;
    }
    if (a === pages || f[2 * a] !== hi || f[2 * a + 1]! >>> 24 !== top) return -1;
    return f[2 * a + 1]! & 0xffffff;
  }

  #close(): void {
    for (const fd of [this.#posFd, this.#keysFd, this.#runsFd]) {
      if (fd === undefined || fd < 0) continue;
      try {
        closeSync(fd);
      } catch {
        // closed
      }
    }
    this.#posFd = this.#keysFd = this.#runsFd = -1;
  }

  /** Closes and removes the files. */
  close(): void {
    this.#close();
    for (const p of [this.#posPath, this.#keysPath, this.#runsPath]) {
      try {
        unlinkSync(p);
      } catch {
        // gone
      }
    }
  }
}
