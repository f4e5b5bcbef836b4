// One GET for several byte ranges. The answer may be a multipart/byteranges 206, a single-range
// 206 covering them (servers may merge), or a 200 when the server does not do (multi-)ranges —
// then the body is dropped unread and the caller falls back. Every body byte goes through the
// same meter and token bucket as a full download.
import { OutpostError } from '../../../shared/errors.ts';
import { formatRangeHeader, multipartBoundary, parseContentRange, type ByteRange } from '../../../shared/http/byte-ranges.ts';
import { MultipartByterangesParser } from '../../../shared/http/multipart-parser.ts';
import type { HttpTransport } from '../../net/http-transport.ts';
import { get, headerValue, RETRY_STATUS, RetryableHttpError, retryAfterMs, validatorOf, type Got } from '../http-range.ts';
import { throttled, type TokenBucket } from '../throttle.ts';

export interface RangeGetOptions {
  readonly transport: HttpTransport;
  readonly url: URL;
  /** Pinned validator: a response with another one is E_SOURCE_CHANGED. */
  readonly validator: string | null;
  readonly signal: AbortSignal;
  readonly deadlineMs: number;
  readonly throttle?: TokenBucket | null;
  readonly onBytes?: (n: number) => void;
}

/** A served part: bytes from `start`. */
export interface Piece {
  readonly start: number;
  readonly data: Buffer;
}

/**
 * Reused room for the parts of a window's requests, filled from the start. A buffer per part
 * (4 KiB each, hundreds per request) lived until V8 next collected its old space: at 2 GiB a
 * delta's dead parts held several MiB outside the heap. A part that does not fit gets its own.
 */
export interface Slab {
  readonly buf: Buffer;
  used: number;
}

/** Room for `length` bytes of a part: in the slab when they fit, else a buffer of its own. */
function room(slab: Slab | undefined, length: number): Buffer {
  if (!slab || slab.used + length > slab.buf.length) return Buffer.allocUnsafe(length);
  const b = slab.buf.subarray(slab.used, slab.used + length);
  slab.used += length;
  return b;
}

export type RangeGetResult =
  | { readonly kind: 'parts'; readonly validator: string | null; readonly pieces: readonly Piece[]; readonly requests: number }
  | { readonly kind: 'ignored'; readonly validator: string | null; readonly totalSize: number | null };

/** Requests `ranges` (sorted, disjoint) in one GET; parts go into `slab` while it has room. */
export async function getRanges(o: RangeGetOptions, ranges: readonly ByteRange[], slab?: Slab): Promise<RangeGetResult> {
  const r = await open(o, ranges);
  if (r.kind === 'ignored') return r;
  const { res, validator } = r;
  try {
    const body = bodyOf(o, res);
    const boundary = multipartBoundary(headerValue(res.headers['content-type']));
    const pieces = boundary ? await readMultipart(body, boundary, ranges, slab) : await readSingle(body, headerValue(res.headers['content-range']), ranges, slab);
    checkCovered(ranges, pieces);
    return { kind: 'parts', validator, pieces, requests: 1 };
  } finally {
    res.destroy();
  }
}

/**
 * One range, its body handed to `consume` as it arrives rather than buffered whole (a format-2
 * head runs to 2 MiB at 2 GiB, and its parser keeps its own copy). `consume` may stop early.
 */
export async function streamRange<T>(o: RangeGetOptions, range: ByteRange, consume: (body: AsyncIterable<Buffer>) => Promise<T>): Promise<{ readonly kind: 'ignored' } | { readonly kind: 'streamed'; readonly validator: string | null; readonly value: T }> {
  const r = await open(o, [range]);
  if (r.kind === 'ignored') return r;
  const { res, validator } = r;
  try {
    const cr = parseContentRange(headerValue(res.headers['content-range']));
    if (!cr || cr.range.start !== range.start || cr.range.end !== range.end) {
      throw new OutpostError('E_FETCH_PROTOCOL', `asked for bytes ${range.start}-${range.end}, the server answered with ${headerValue(res.headers['content-range']) ?? 'no Content-Range'}`, { retryable: true });
    }
    return { kind: 'streamed', validator, value: await consume(exactly(bodyOf(o, res), range.end - range.start + 1)) };
  } finally {
    res.destroy();
  }
}

type Opened = { readonly kind: 'ignored'; readonly validator: string | null; readonly totalSize: number | null } | { readonly kind: 'open'; readonly res: Got; readonly validator: string | null };

/** Sends the GET and checks its status and validator: a 206 to read, or 'ignored' (a 200, its body unread). */
async function open(o: RangeGetOptions, ranges: readonly ByteRange[]): Promise<Opened> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity', range: formatRangeHeader(ranges) };
  if (o.validator?.startsWith('"')) headers['if-range'] = o.validator; // strong ETags only
  // Direct connections through socket-get.ts like full downloads (node:http is not even loaded).
  const res = await get(o.transport, o.url, headers, o);
  const status = res.statusCode;
  const fail = (err: OutpostError): never => {
    res.destroy();
    throw err;
  };
  const validator = validatorOf(res);
  if (o.validator !== null && validator !== o.validator) {
    fail(new OutpostError('E_SOURCE_CHANGED', `bundle at ${o.url.href} changed: validator ${o.validator} is now ${validator ?? 'absent'}`));
  }
  if (status === 416) fail(new OutpostError('E_SOURCE_CHANGED', `server has no bytes at the ranges asked (416): the file changed`));
  if (RETRY_STATUS.has(status)) fail(new RetryableHttpError(`HTTP ${status} from ${o.url.host}`, retryAfterMs(res)));
  if (status === 200) {
    const length = res.headers['content-length'];
    res.destroy(); // a whole file nobody asked for: never read it
    return { kind: 'ignored', validator, totalSize: length === undefined ? null : Number(length) };
  }
  if (status !== 206) fail(new OutpostError('E_FETCH_HTTP', `HTTP ${status} from ${o.url.origin}${o.url.pathname}`));
  return { kind: 'open', res, validator };
}

/** The response body through the same meter and token bucket as a full download. */
function bodyOf(o: RangeGetOptions, res: Got): AsyncIterable<Buffer> {
  const length = res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']);
  const body = metered(res.body(length), o.onBytes);
  return o.throttle ? throttled(body, o.throttle, o.signal) : body;
}

/** `length` bytes of `body`: E_FETCH_PROTOCOL for more, a retryable E_FETCH_NETWORK for fewer (unless the reader stopped first). */
async function* exactly(body: AsyncIterable<Buffer>, length: number): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const chunk of body) {
    at += chunk.length;
    if (at > length) throw new OutpostError('E_FETCH_PROTOCOL', 'body longer than its Content-Range', { retryable: true });
    yield chunk;
  }
  if (at !== length) throw new OutpostError('E_FETCH_NETWORK', `connection closed after ${at} of ${length} bytes`, { retryable: true });
}

async function* metered(source: AsyncIterable<Buffer>, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}

/** A part is buffered whole, so it must lie within what was asked (a server cannot make us allocate more). */
function checkAsked(r: ByteRange, asked: readonly ByteRange[]): void {
  const lo = asked[0]!.start;
  const hi = asked[asked.length - 1]!.end;
  if (r.start < lo || r.end > hi) throw new OutpostError('E_FETCH_PROTOCOL', `the server sent bytes ${r.start}-${r.end}, outside ${lo}-${hi}`, { retryable: true });
}

async function readSingle(body: AsyncIterable<Buffer>, contentRange: string | undefined, asked: readonly ByteRange[], slab?: Slab): Promise<Piece[]> {
  const cr = parseContentRange(contentRange);
  if (!cr) throw new OutpostError('E_FETCH_PROTOCOL', `206 without a valid Content-Range ("${contentRange}")`, { retryable: true });
  checkAsked(cr.range, asked);
  const data = room(slab, cr.range.end - cr.range.start + 1);
  let at = 0;
  for await (const chunk of exactly(body, data.length)) at += chunk.copy(data, at);
  return [{ start: cr.range.start, data }];
}

async function readMultipart(body: AsyncIterable<Buffer>, boundary: string, asked: readonly ByteRange[], slab?: Slab): Promise<Piece[]> {
  const parser = new MultipartByterangesParser(boundary);
  const pieces: Piece[] = [];
  // each part lies within the span asked, and all of them together too: repeated parts cannot grow the buffers
  const span = asked[asked.length - 1]!.end - asked[0]!.start + 1;
  let received = 0;
  let current: { start: number; data: Buffer; at: number } | null = null;
  for await (const chunk of body) {
    for (const e of parser.push(chunk)) {
      if (e.kind === 'part') {
        checkAsked(e.range, asked);
        received += e.range.end - e.range.start + 1;
        if (received > span) throw new OutpostError('E_FETCH_PROTOCOL', `the server sent more than the ${span} bytes of the span asked`, { retryable: true });
        current = { start: e.range.start, data: room(slab, e.range.end - e.range.start + 1), at: 0 };
        pieces.push(current);
      } else {
        e.chunk.copy(current!.data, current!.at);
        current!.at += e.chunk.length;
      }
    }
  }
  parser.end();
  return pieces.map((p) => ({ start: p.start, data: p.data }));
}

function checkCovered(ranges: readonly ByteRange[], pieces: readonly Piece[]): void {
  for (const r of ranges) {
    if (!pieces.some((p) => p.start <= r.start && p.start + p.data.length > r.end)) {
      throw new OutpostError('E_FETCH_PROTOCOL', `the server's answer does not cover bytes ${r.start}-${r.end}`, { retryable: true });
    }
  }
}

/** The bytes [start, start + length) from whichever piece holds them. */
export function sliceFrom(pieces: readonly Piece[], start: number, length: number): Buffer {
  for (const p of pieces) {
    if (p.start <= start && p.start + p.data.length >= start + length) return p.data.subarray(start - p.start, start - p.start + length);
  }
  throw new OutpostError('E_FETCH_PROTOCOL', `no served part holds bytes ${start}-${start + length - 1}`, { retryable: true });
}
