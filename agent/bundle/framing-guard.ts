// Raw-byte view of a bundle's tar framing: where each header is, that it is canonical, that
// padding and the end-of-archive blocks are zero, and that nothing follows them. It knows
// nothing about entry meaning; it reports each header to its owner.
import { OutpostError } from '../../shared/errors.ts';
import { paddedSize, TAR_BLOCK } from '../../shared/bundle/format.ts';
import { checkHeader, type HeaderCheck } from '../../shared/bundle/tar-header.ts';

type Region = 'header' | 'data' | 'pad' | 'eof' | 'done';

export class FramingGuard {
  readonly #onHeader: (h: HeaderCheck, offset: number) => void;
  #pos = 0;
  #region: Region = 'header';
  #left = TAR_BLOCK;
  readonly #header = Buffer.alloc(TAR_BLOCK);
  /** Zero bytes expected after the current entry's data. */
  #padLeft = 0;

  /** onHeader runs for every complete header (entries and the first end-of-archive block) and may throw. */
  constructor(onHeader: (h: HeaderCheck, offset: number) => void) {
    this.#onHeader = onHeader;
  }

  get position(): number {
    return this.#pos;
  }

  /** True after both end-of-archive blocks. */
  get done(): boolean {
    return this.#region === 'done';
  }

  /** True while the next byte is entry data (the pieces consume() takes next are an entry's content). */
  get inData(): boolean {
    return this.#region === 'data';
  }

  /** Bytes up to the next framing boundary (1 once done: any further byte is an error). */
  get untilBoundary(): number {
    return this.#region === 'done' ? 1 : this.#left;
  }

  /** Takes a piece that does not cross a boundary (see untilBoundary). */
  consume(piece: Buffer): void {
    switch (this.#region) {
      case 'header':
        piece.copy(this.#header, TAR_BLOCK - this.#left);
        this.#advance(piece.length);
        if (this.#left === 0) this.#headerDone(this.#pos - TAR_BLOCK);
        return;
      case 'data':
        this.#advance(piece.length);
        if (this.#left === 0) this.#enter('pad', this.#padLeft);
        return;
      case 'pad':
      case 'eof': {
        const what = this.#region === 'pad' ? 'padding after an entry' : 'end-of-archive block';
        if (!piece.every((b) => b === 0)) throw new OutpostError('E_BUNDLE_PADDING', `non-zero byte in the ${what} near offset ${this.#pos}`);
        this.#advance(piece.length);
        if (this.#left === 0) this.#region === 'pad' ? this.#enter('header', TAR_BLOCK) : this.#enter('done', 0);
        return;
      }
      case 'done':
        throw new OutpostError('E_BUNDLE_TRAILING_DATA', `data after the end-of-archive blocks at offset ${this.#pos}`);
    }
  }

  #headerDone(offset: number): void {
    const h = checkHeader(this.#header, offset);
    this.#onHeader(h, offset);
    if (h.kind === 'eof') {
      this.#enter('eof', TAR_BLOCK); // the second zero block
      return;
    }
    this.#padLeft = paddedSize(h.size) - h.size;
    this.#enter('data', h.size);
  }

  #advance(n: number): void {
    this.#pos += n;
    this.#left -= n;
  }

  #enter(region: Region, left: number): void {
    this.#region = region;
    this.#left = left;
    // empty data or no padding: pass straight through to what follows
    if (left === 0 && region === 'data') this.#enter('pad', this.#padLeft);
    else if (left === 0 && region === 'pad') this.#enter('header', TAR_BLOCK);
  }
}
