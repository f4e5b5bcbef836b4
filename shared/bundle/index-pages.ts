// The bytes of a verified block index. In memory while the head is parsed; once the head is in a
// file (the update journal's copy), read back from there a page at a time: a format-2 index is
// 1 MiB per GiB of image, which kept whole made a 4 GiB install's memory grow with the image.
// Each page is checked against its sha256, taken while the verified bytes were still in memory,
// so a byte changed on disk since is refused, never used.
import { closeSync, openSync, readSync } from 'node:fs';
import { hash } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { DIGEST_BYTES } from './format.ts';

/** A multiple of 32: an index's digests (32 bytes) and sizes (2 bytes) never cross a page. */
const INDEX_PAGE_BYTES = 32 * 1024;
/** Pages kept: a delta walks its digests and sizes in two windows at once, each a page or two. */
const CACHED_PAGES = 8;

interface Page {
  readonly n: number;
  readonly buf: Buffer;
}

export class IndexPages {
  readonly length: number;
  readonly #pageBytes: number;
  #mem: Buffer | null;
  #file: string | null = null;
  #base = 0;
  #digests: Buffer | null = null;
  /** Most recently used first. */
  #cache: Page[] = [];

  /** pageBytes: a multiple of 32 (tests use small pages). */
  constructor(bytes: Buffer, pageBytes = INDEX_PAGE_BYTES) {
    if (!(pageBytes > 0 && pageBytes % DIGEST_BYTES === 0)) throw new RangeError(`index page of ${pageBytes} bytes: not a multiple of ${DIGEST_BYTES}`);
    this.#mem = bytes;
    this.length = bytes.length;
    this.#pageBytes = pageBytes;
  }

  /** Whether the bytes are read from a file now. */
  get paged(): boolean {
    return this.#mem === null;
  }

  /**
   * `file` holds these bytes at `base` (written, or read, before this call): let the memory go and
   * read pages from the file from now on. A second call only points at the new file.
   */
  pageFrom(file: string, base: number): void {
    if (this.#mem) {
      const pages = Math.ceil(this.length / this.#pageBytes);
      const digests = Buffer.allocUnsafe(pages * DIGEST_BYTES);
      for (let p = 0; p < pages; p++) {
        hash('sha256', this.#mem.subarray(p * this.#pageBytes, (p + 1) * this.#pageBytes), 'buffer').copy(digests, p * DIGEST_BYTES);
      }
      this.#digests = digests;
      this.#mem = null;
    }
    this.#file = file;
    this.#base = base;
  }

  readUInt16BE(off: number): number {
    if (this.#mem) return this.#mem.readUInt16BE(off);
    const n = this.#within(off, 2);
    return this.#page(n).readUInt16BE(off - n * this.#pageBytes);
  }

  /** `length` bytes at `off`, within one page: a view in memory, a copy once paged (pages are reused). */
  view(off: number, length: number): Buffer {
    if (this.#mem) return this.#mem.subarray(off, off + length);
    const n = this.#within(off, length);
    const at = off - n * this.#pageBytes;
    return Buffer.from(this.#page(n).subarray(at, at + length));
  }

  /** `length` bytes at `off`, within one page, as a latin1 string: compared without a Buffer of their own. */
  latin1(off: number, length: number): string {
    if (this.#mem) return this.#mem.toString('latin1', off, off + length);
    const n = this.#within(off, length);
    const at = off - n * this.#pageBytes;
    return this.#page(n).toString('latin1', at, at + length);
  }

  /** The page of `length` bytes at `off`; a RangeError past the end or across pages (a page's buffer is reused: bytes past what was checked are not the index's). */
  #within(off: number, length: number): number {
    const n = Math.floor(off / this.#pageBytes);
    if (off < 0 || length < 1 || off + length > this.length || Math.floor((off + length - 1) / this.#pageBytes) !== n) {
      throw new RangeError(`index bytes ${off}..${off + length} are outside the index (${this.length} bytes) or cross a page`);
    }
    return n;
  }

  #page(n: number): Buffer {
    const c = this.#cache;
    if (c[0]?.n === n) return c[0].buf;
    const k = c.findIndex((p) => p.n === n);
    if (k >= 0) {
      const hit = c.splice(k, 1)[0]!;
      c.unshift(hit);
      return hit.buf;
    }
    // the least used page's memory is read over: a fresh buffer per page was garbage that only
    // a full collection, rare in an install, gave back (4 MiB over a 4 GiB image)
    const buf = c.length >= CACHED_PAGES ? c.pop()!.buf : Buffer.allocUnsafeSlow(this.#pageBytes);
    this.#load(n, buf);
    c.unshift({ n, buf });
    return buf;
  }

  #load(n: number, buf: Buffer): void {
    const length = Math.min(this.#pageBytes, this.length - n * this.#pageBytes);
    let got = 0;
    try {
      const fd = openSync(this.#file!, 'r');
      try {
        while (got < length) {
          const r = readSync(fd, buf, got, length - got, this.#base + n * this.#pageBytes + got);
          if (r === 0) break;
          got += r;
        }
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new OutpostError('E_BUNDLE_INDEX_PAGE', `cannot read page ${n} of the block index from ${this.#file}: ${(err as Error).message}`, { cause: err });
    }
    const want = this.#digests!.subarray(n * DIGEST_BYTES, (n + 1) * DIGEST_BYTES);
    if (got !== length || !hash('sha256', buf.subarray(0, length), 'buffer').equals(want)) {
      throw new OutpostError('E_BUNDLE_INDEX_PAGE', `page ${n} of the block index in ${this.#file} is not what was verified`);
    }
  }
}
