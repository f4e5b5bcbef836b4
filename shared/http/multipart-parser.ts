// Streaming parser for a `multipart/byteranges` body. Each part's length comes from its
// Content-Range, so data is passed through without scanning it for the boundary; only the
// small delimiter and header sections are buffered (bounded).
import { OutpostError } from '../errors.ts';
import { parseContentRange, type ByteRange } from './byte-ranges.ts';

export type MultipartEvent =
  | { readonly kind: 'part'; readonly range: ByteRange; readonly size: number | null }
  | { readonly kind: 'data'; readonly chunk: Buffer };

const MAX_SECTION = 8 * 1024;

function bad(message: string): OutpostError {
  return new OutpostError('E_HTTP_MULTIPART', `multipart/byteranges: ${message}`, { retryable: true });
}

type State = 'open' | 'headers' | 'data' | 'delimiter' | 'done';

const EMPTY = Buffer.alloc(0);

export class MultipartByterangesParser {
  readonly #open: Buffer;
  /** CRLF and the boundary: what follows each part's data. */
  readonly #delimiter: Buffer;
  #state: State = 'open';
  /** A section cut at the end of the last chunk (at most MAX_SECTION bytes). */
  #pending: Buffer = EMPTY;
  #left = 0;

  constructor(boundary: string) {
    this.#open = Buffer.from(`--${boundary}`, 'latin1');
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feeds one chunk; returns the events it completes, in order. */
  push(chunk: Buffer): MultipartEvent[] {
    const out: MultipartEvent[] = [];
    const p = this.#pending;
    if (p.length === 0) {
      this.#run(chunk, out, Infinity);
      return out;
    }
    // Only the start of the chunk is joined to the cut section: joining the whole chunk (a socket
    // read of up to 512 KiB) copied most of a delta's bytes once more and left the copies as garbage.
    this.#pending = EMPTY;
    const joined = Buffer.concat([p, chunk.subarray(0, MAX_SECTION + 1)]);
    const used = this.#run(joined, out, p.length);
    if (this.#pending.length === 0 && used - p.length < chunk.length) this.#run(chunk.subarray(used - p.length), out, Infinity);
    return out;
  }

  /**
   * Consumes buf until at least `stopAfter` bytes are used; returns the bytes used (all of buf
   * when the rest is kept as the pending cut section, or is the epilogue).
   */
  #run(buf: Buffer, out: MultipartEvent[], stopAfter: number): number {
    let at = 0;
    while (at < buf.length && at < stopAfter) {
      if (this.#state === 'data') {
        const n = Math.min(this.#left, buf.length - at);
        out.push({ kind: 'data', chunk: buf.subarray(at, at + n) });
        this.#left -= n;
        at += n;
        if (this.#left === 0) this.#state = 'delimiter';
        continue;
      }
      if (this.#state === 'done') return buf.length; // the epilogue is ignored (RFC 2046)
      const rest = at === 0 ? buf : buf.subarray(at);
      const used = this.#section(rest, out);
      if (used === 0) {
        if (rest.length > MAX_SECTION) throw bad('delimiter or part headers too long');
        this.#pending = Buffer.from(rest);
        return buf.length;
      }
      at += used;
    }
    return at;
  }

  /** End of the body: it must have been closed by the final delimiter. */
  end(): void {
    if (this.#state !== 'done') throw bad('body ended before the closing delimiter');
  }

  /** Consumes one non-data section from buf; 0 when buf does not yet hold all of it. */
  #section(buf: Buffer, out: MultipartEvent[]): number {
    if (this.#state === 'open') {
      // A preamble may precede the first delimiter.
      const at = buf.indexOf(this.#open);
      if (at < 0 || buf.length < at + this.#open.length + 2) return 0;
      return this.#afterDelimiter(buf, at + this.#open.length);
    }
    if (this.#state === 'delimiter') {
      const want = this.#delimiter;
      if (buf.length < want.length + 2) return 0;
      if (buf.compare(want, 0, want.length, 0, want.length) !== 0) throw bad('part data is not followed by the boundary (wrong Content-Range length?)');
      return this.#afterDelimiter(buf, want.length);
    }
    // headers: up to the empty line
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return 0;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    let range: ReturnType<typeof parseContentRange> = null;
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-range') range = parseContentRange(line.slice(colon + 1));
    }
    if (!range) throw bad('part without a valid Content-Range');
    out.push({ kind: 'part', range: range.range, size: range.size });
    this.#left = range.range.end - range.range.start + 1;
    this.#state = 'data';
    return end + 4;
  }

  /** After `--boundary`: `--` closes the body, CRLF opens a part's headers. */
  #afterDelimiter(buf: Buffer, at: number): number {
    const two = buf.subarray(at, at + 2).toString('latin1');
    if (two === '--') {
      this.#state = 'done';
      return at + 2;
    }
    // RFC 2046 allows transport padding (spaces) before the CRLF; servers do not send it.
    if (two !== '\r\n') throw bad('malformed delimiter line');
    this.#state = 'headers';
    return at + 2;
  }
}
