// The delta's local lookup table: 48 bits of each local block's (or group's) sha256, in scan
// order, sorted once the scan is done, looked up by binary search. Ten bytes per entry in typed
// arrays: a Map of a slot's 4 KiB blocks took about 60 bytes per block in the V8 heap (30 MiB for
// a 2 GiB slot whose blocks all differ), which an install must not cost a small box.
// Lookups are candidates only: the caller reads the bytes and checks the full digest.

/** Entries appended in position order; sorted at the first lookup (a plan that needs none never pays for it). */
export class KeyTable {
  readonly #hi: Uint32Array;
  readonly #lo: Uint16Array;
  /** After sort(): positions (append order) ordered by key, equal keys by position. */
  #order: Uint32Array | null = null;
  #n = 0;

  /** capacity: most entries that will be appended. */
  constructor(capacity: number) {
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint16Array(capacity);
  }

  get size(): number {
    return this.#n;
  }

  /** Appends the key of a digest given as a 'binary' (latin1) string; returns its position. */
  add(digest: string): number {
    if (this.#order) throw new Error('KeyTable: add after sort');
    const k = this.#n++;
    this.#hi[k] = ((digest.charCodeAt(0) << 24) | (digest.charCodeAt(1) << 16) | (digest.charCodeAt(2) << 8) | digest.charCodeAt(3)) >>> 0;
    this.#lo[k] = (digest.charCodeAt(4) << 8) | digest.charCodeAt(5);
    return k;
  }

  /**
   * Orders positions by key: LSD radix sort, 16 bits a pass, stable, so equal keys keep scan order.
   * An entry repeating the one before it (a run of zero blocks) is left out: the first of the run
   * is the one a lookup returns anyway.
   */
  sort(): Uint32Array {
    if (this.#order) return this.#order;
    const n = this.#n;
    const repeats = (k: number) => k > 0 && this.#hi[k] === this.#hi[k - 1] && this.#lo[k] === this.#lo[k - 1];
    let m = 0;
    for (let k = 0; k < n; k++) if (!repeats(k)) m++;
    let order = new Uint32Array(m);
    for (let k = 0, j = 0; k < n; k++) if (!repeats(k)) order[j++] = k;
    let tmp = new Uint32Array(m);
    const count = new Uint32Array(65_537);
    const passes = [(k: number) => this.#lo[k]!, (k: number) => this.#hi[k]! & 0xffff, (k: number) => this.#hi[k]! >>> 16];
    for (const digit of passes) {
      count.fill(0);
      for (let k = 0; k < m; k++) count[digit(order[k]!) + 1]!++;
      for (let d = 1; d < count.length; d++) count[d]! += count[d - 1]!;
      for (let k = 0; k < m; k++) {
        const pos = order[k]!;
        tmp[count[digit(pos)]!++] = pos;
      }
      [order, tmp] = [tmp, order];
    }
    this.#order = order;
    return order;
  }

  /** Position of the first entry (in scan order) whose key is the digest's, or -1. */
  find(digest: Buffer): number {
    const order = this.#order ?? this.sort();
    const hi = digest.readUInt32BE(0);
    const lo = digest.readUInt16BE(4);
    let a = 0;
    let b = order.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const p = order[m]!;
      if (this.#hi[p]! < hi || (this.#hi[p] === hi && this.#lo[p]! < lo)) a = m + 1;
      else b = m;
    }
    if (a === order.length) return -1;
    const p = order[a]!;
    return this.#hi[p] === hi && this.#lo[p] === lo ? p : -1;
  }
}
