// The delta's local lookup table: 40 bits of each local block's (or group's) sha256 and its
// position (scan order), packed in one 64-bit word, sorted in place once the scan is done and
// looked up by binary search. Eight bytes per entry, nothing more while sorting: a Map of a slot's
// 4 KiB blocks took about 60 bytes per block in the V8 heap (30 MiB for a 2 GiB slot), and the
// radix sort this replaced held 10 bytes per entry plus 4 more while it ran.
// Lookups are candidates only: the caller reads the bytes and checks the full digest.

/** Positions fit in 24 bits (16 Mi entries: two 32 GiB slots of 4 KiB blocks); later ones are not kept. */
export const MAX_POSITIONS = 1 << 24;

/** Word order inside a 64-bit entry on this machine (key-file.ts writes its entries the same way). */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const HI = LITTLE ? 1 : 0;
export const LO = 1 - HI;

/** Digest bytes 0–3 of a digest given as a 'binary' (latin1) string: an entry's high word. */
export function keyHi(digest: string): number {
  return ((digest.charCodeAt(0) << 24) | (digest.charCodeAt(1) << 16) | (digest.charCodeAt(2) << 8) | digest.charCodeAt(3)) >>> 0;
}

/**
 * Index of the first of `n` sorted entries in `w` (word pairs, the high word at `hiAt` of each)
 * whose key (high word, then the top byte of the low word) is not below (hi, top); n when none is.
 */
export function lowerBound(w: Uint32Array, n: number, hiAt: number, hi: number, top: number): number {
  const loAt = 1 - hiAt;
  let a = 0;
  let b = n;
  while (a < b) {
    const m = (a + b) >>> 1;
    const h = w[2 * m + hiAt]!;
    if (h < hi || (h === hi && w[2 * m + loAt]! >>> 24 < top)) a = m + 1;
    else b = m;
  }
  return a;
}

/** A table of local keys (this one in memory, key-file.ts's on disk), as the delta's LocalIndex uses it. */
export interface LocalKeys {
  readonly size: number;
  add(digest: string): number;
  /** Ends the appending; lookups follow. */
  finish(): void;
  /** Whether position `pos` holds the key of the digest at `at` in `table` (false: not known). */
  keyIs(pos: number, table: Buffer, at: number): boolean;
  find(table: Buffer, at?: number): number;
  close(): void;
}

/** Entries appended in position order; sorted at the first lookup (a plan that needs none never pays for it). */
export class KeyTable implements LocalKeys {
  /** Entry k: key (digest bytes 0–4) × 2²⁴ + position, so sorting the words orders by key, then position. */
  readonly #entries: BigUint64Array;
  /** The same memory as 32-bit words: HI = digest bytes 0–3, LO = digest byte 4 << 24 | position. */
  readonly #words: Uint32Array;
  /** Entries kept. */
  #m = 0;
  /** Positions given out (entries kept or left out). */
  #n = 0;
  #sorted = false;
  /** Key of the position before the next one (-1: none yet). */
  #prevHi = -1;
  #prevTop = -1;

  /** capacity: most entries that will be appended. */
  constructor(capacity: number) {
    this.#entries = new BigUint64Array(Math.min(capacity, MAX_POSITIONS));
    this.#words = new Uint32Array(this.#entries.buffer);
  }

  /** Positions given out so far. */
  get size(): number {
    return this.#n;
  }

  /**
   * Appends the key of a digest given as a 'binary' (latin1) string; returns its position. An
   * entry repeating the one before it (a run of zero blocks) is left out: the first of the run is
   * the one a lookup returns anyway.
   */
  add(digest: string): number {
    if (this.#sorted) throw new Error('KeyTable: add after sort');
    const k = this.#n++;
    const hi = keyHi(digest);
    const top = digest.charCodeAt(4);
    const repeat = hi === this.#prevHi && top === this.#prevTop;
    this.#prevHi = hi;
    this.#prevTop = top;
    const m = this.#m;
    if (repeat || k >= MAX_POSITIONS || m >= this.#entries.length) return k;
    this.#words[2 * m + HI] = hi;
    this.#words[2 * m + LO] = ((top << 24) | k) >>> 0;
    this.#m = m + 1;
    return k;
  }

  /** Ends the appending (LocalKeys). Sorted at the first lookup: a plan that ends in a full download looks no block up. */
  finish(): void {}

  /** No keys by position are kept in memory (LocalKeys): a lookup goes by find(). */
  keyIs(): boolean {
    return false;
  }

  close(): void {}

  /** Orders the entries by key, then position (in place, natively). */
  sort(): void {
    if (this.#sorted) return;
    this.#sorted = true;
    this.#entries.subarray(0, this.#m).sort();
  }

  /** Position of the first entry (in scan order) whose key is that of the digest at `at`, or -1. */
  find(digest: Buffer, at = 0): number {
    return this.#find(digest.readUInt32BE(at), digest[at + 4]!);
  }

  /** find() of a digest given as a 'binary' (latin1) string. */
  findLatin1(digest: string): number {
    return this.#find(keyHi(digest), digest.charCodeAt(4));
  }

  #find(hi: number, top: number): number {
    this.sort();
    const w = this.#words;
    const a = lowerBound(w, this.#m, HI, hi, top);
    if (a === this.#m || w[2 * a + HI] !== hi || w[2 * a + LO]! >>> 24 !== top) return -1;
    return w[2 * a + LO]! & 0xffffff;
  }
}
