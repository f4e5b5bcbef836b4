// A window's local reads, started ahead of their use: read one by one, each group waited on the
// device while nothing else ran (half of a 512 MiB delta's delivery was idle). Reads of
// consecutive places in one file (an update in place: nearly all of them) are merged into spans:
// every read is a thread-pool round trip, and on a small VM handing work to another thread cost
// the main thread ~60 µs a read, more than hashing the 64 KiB it brought. Reads are candidates
// only; the caller checks every byte.
import type { LocalIndex, LocalRef } from './local-index.ts';

/** What the read-ahead needs of the local index. */
export type LocalReader = Pick<LocalIndex, 'read'>;

export interface PlannedRead {
  readonly ref: LocalRef;
  readonly length: number;
}

interface Span {
  readonly ref: LocalRef;
  readonly length: number;
  /** Items [first, first + count). */
  readonly first: number;
  readonly count: number;
  buf: Buffer | null;
  read: Promise<Buffer> | null;
  /** Items of the span not yet released. */
  held: number;
}

const ignore = () => {};

/**
 * Reads of items 0…n−1, taken in order, into spans of up to `spanBytes`, as many in flight as
 * `buffers` has (each at least spanBytes long; borrowed until close()).
 */
export class ReadAhead {
  readonly #local: LocalReader;
  readonly #reads: ReadonlyArray<PlannedRead | null>;
  readonly #spans: Span[] = [];
  /** Span of each item (−1: no read). */
  readonly #spanOf: Int32Array;
  readonly #free: Buffer[];
  readonly #buffers: Buffer[];
  #started = 0;

  constructor(local: LocalReader, reads: ReadonlyArray<PlannedRead | null>, buffers: Buffer[], spanBytes: number) {
    this.#buffers = buffers;
    this.#free = buffers.splice(0);
    this.#local = local;
    this.#reads = reads;
    this.#spanOf = new Int32Array(reads.length).fill(-1);
    for (let k = 0; k < reads.length; k++) {
      const r = reads[k];
      if (!r) continue;
      const last = this.#spans[this.#spans.length - 1];
      const prev = k > 0 ? reads[k - 1] : null;
      if (last && prev && last.first + last.count === k && prev.ref.file === r.ref.file && prev.ref.offset + prev.length === r.ref.offset && last.length + r.length <= spanBytes) {
        this.#spans[this.#spans.length - 1] = { ...last, length: last.length + r.length, count: last.count + 1, held: last.held + 1 };
      } else {
        this.#spans.push({ ref: r.ref, length: r.length, first: k, count: 1, buf: null, read: null, held: 1 });
      }
      this.#spanOf[k] = this.#spans.length - 1;
    }
    this.#start();
  }

  #start(): void {
    while (this.#started < this.#spans.length && this.#free.length > 0) {
      const s = this.#spans[this.#started++]!;
      s.buf = this.#free.pop()!;
      s.read = this.#local.read(s.ref, s.length, s.buf.subarray(0, s.length));
      s.read.catch(ignore); // taken (and its failure seen) in order, or settled by close()
    }
  }

  /** Item k's bytes (short at the end of a file), or null when it has no read. */
  take(k: number): Promise<Buffer> | null {
    const i = this.#spanOf[k]!;
    if (i < 0) return null;
    const s = this.#spans[i]!;
    if (!s.read) throw new Error(`ReadAhead: item ${k} taken before the ones before it were released`);
    let at = 0;
    for (let j = s.first; j < k; j++) at += this.#reads[j]!.length;
    const length = this.#reads[k]!.length;
    const bytes = s.read.then((b) => b.subarray(Math.min(at, b.length), Math.min(at + length, b.length)));
    bytes.catch(ignore); // the caller may not need it (a group already handed on before a retry)
    return bytes;
  }

  /** Item k's bytes may be overwritten: once a span's items are all released, the next reads start. */
  release(k: number): void {
    const i = this.#spanOf[k]!;
    if (i < 0) return;
    this.#spanOf[k] = -1;
    const s = this.#spans[i]!;
    if (--s.held > 0) return;
    this.#free.push(s.buf!);
    s.buf = null;
    this.#start();
  }

  /** Waits for reads still in flight (before the files close), then gives the buffers back. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#spans.map((s) => s.read).filter((r) => r !== null));
    for (const s of this.#spans) if (s.buf) this.#free.push(s.buf);
    this.#buffers.push(...this.#free.splice(0));
  }
}
