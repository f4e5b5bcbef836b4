// One ranged GET: follows redirects (never https → http), interprets 200/206/416 and retryable
// statuses, and exposes the body as an async iterable with a read deadline that only runs while
// we are actually waiting for the network (a slow consumer is not a stall).
import type { IncomingMessage } from 'node:http';
import { OutpostError } from '../../shared/errors.ts';
import { DataWait } from './data-wait.ts';
import { networkError, type HttpTransport } from '../net/http-transport.ts';
import { fallback, socketGet } from './socket-get.ts';

/** What the helpers below read of a response: node:http's or socket-get's. */
interface Headed {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A header's value as one string (repeated headers joined with ", "). */
export const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v);

export interface RangeRequest {
  readonly url: URL;
  readonly start: number;
  /** Inclusive last byte; null = to the end. */
  readonly end: number | null;
  /** Sent as If-Range when usable (strong ETag or HTTP date). */
  readonly validator: string | null;
  readonly signal: AbortSignal;
  readonly deadlineMs: number;
  readonly maxRedirects?: number;
}

export interface RangeResponse {
  readonly status: 200 | 206;
  /** File offset of the first body byte (0 when the server ignored Range). */
  readonly start: number;
  readonly validator: string | null;
  /** Whole file size when the server said. */
  readonly totalSize: number | null;
  /** A chunk is valid only until the next one is asked for (its buffer is reused): copy what you keep. */
  readonly body: AsyncIterable<Buffer>;
  /** Drops the connection (idempotent). */
  close(): void;
}

export const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** ETag if strong or weak, else Last-Modified: what identifies this version of the file. */
export function validatorOf(res: Headed): string | null {
  const etag = headerValue(res.headers.etag);
  if (etag) return etag;
  return headerValue(res.headers['last-modified']) ?? null;
}

function ifRangeValue(validator: string | null): string | null {
  if (!validator) return null;
  if (validator.startsWith('"')) return validator; // strong ETag
  if (validator.startsWith('W/')) return null; // weak ETags are not allowed in If-Range
  return Number.isNaN(Date.parse(validator)) ? null : validator;
}

export function retryAfterMs(res: Headed): number | null {
  const v = headerValue(res.headers['retry-after']);
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

export class RetryableHttpError extends OutpostError {
  readonly retryAfterMs: number | null;
  constructor(message: string, retryAfter: number | null) {
    super('E_FETCH_HTTP', message, { retryable: true });
    this.retryAfterMs = retryAfter;
  }
}

/** Bytes queued from a response before it is paused (the socket then holds the rest). */
const QUEUE_HIGH = 256 * 1024;

/**
 * The body as chunks, read by events into a queue of our own. A response's async iterator stops
 * yielding the moment the stream is destroyed ("aborted" when the server closes mid-body), and
 * throws away whatever was received but not yet read — up to a block re-fetched per drop. Here
 * every received chunk is delivered first, then the error.
 */
export async function* withDeadline(res: IncomingMessage, deadlineMs: number, expected: number | null, signal: AbortSignal): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown = null;
  const data = new DataWait();
  const notify = () => data.notify();
  res.on('data', (c: Buffer) => {
    queue.push(c);
    queued += c.length;
    if (queued > QUEUE_HIGH) res.pause();
    notify();
  });
  res.on('end', () => ((ended = true), notify()));
  res.on('error', (err) => ((failure ??= err), notify()));
  res.on('close', () => {
    if (!ended) failure ??= new Error('aborted');
    notify();
  });
  let got = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const c = queue.shift();
      if (c !== undefined) {
        queued -= c.length;
        if (queued <= QUEUE_HIGH / 2 && res.isPaused()) res.resume();
        got += c.length;
        yield c;
        continue;
      }
      if (ended) break;
      if (failure !== null) throw networkError(failure, 'reading response');
      // The deadline only runs while we wait for the network (a slow consumer is not a stall).
      await data.wait(deadlineMs, (stall) => {
        failure ??= stall;
        res.destroy();
      });
    }
    if (expected !== null && got < expected) {
      throw new OutpostError('E_FETCH_NETWORK', `connection closed after ${got} of ${expected} bytes`, { retryable: true });
    }
  } finally {
    res.destroy();
  }
}

/** A response whose body is read only if wanted. */
export interface Got extends Headed {
  readonly statusCode: number;
  body(expected: number | null): AsyncIterable<Buffer>;
  destroy(): void;
}

/**
 * Direct connections read the body through socket-get.ts (reused buffers, a fraction of
 * node:http's CPU); proxied ones, and responses it leaves alone, go through node:http.
 */
export async function get(transport: HttpTransport, url: URL, headers: Record<string, string>, req: Pick<RangeRequest, 'signal' | 'deadlineMs'>): Promise<Got> {
  if (transport.route(url) === null) {
    const r = await socketGet({ url, headers: { 'user-agent': transport.userAgent, ...headers }, tls: transport.tls, signal: req.signal, deadlineMs: req.deadlineMs });
    if (r !== fallback) return { statusCode: r.statusCode, headers: r.headers, body: () => r.body, destroy: () => r.destroy() };
  }
  const res = await transport.request({ url, headers, signal: req.signal, deadlineMs: req.deadlineMs });
  // Aborting must also end a body nobody is reading at the moment.
  const onAbort = () => res.destroy();
  req.signal.addEventListener('abort', onAbort, { once: true });
  res.once('close', () => req.signal.removeEventListener('abort', onAbort));
  return {
    statusCode: res.statusCode ?? 0,
    headers: res.headers,
    body: (expected) => withDeadline(res, req.deadlineMs, expected, req.signal),
    destroy: () => res.destroy(),
  };
}

export async function openRange(transport: HttpTransport, req: RangeRequest): Promise<RangeResponse> {
  let url = req.url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (req.start > 0 || req.end !== null) headers.range = `bytes=${req.start}-${req.end ?? ''}`;
    const ifRange = ifRangeValue(req.validator);
    if (headers.range && ifRange) headers['if-range'] = ifRange;
    const res = await get(transport, url, headers, req);
    const status = res.statusCode;
    const fail = (err: OutpostError): never => {
      res.destroy();
      throw err;
    };
    const location = headerValue(res.headers.location);
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') fail(new OutpostError('E_FETCH_REDIRECT', `refusing redirect from https to ${next.protocol}`));
      if (hop >= (req.maxRedirects ?? 5)) fail(new OutpostError('E_FETCH_REDIRECT', `more than ${req.maxRedirects ?? 5} redirects`));
      res.destroy();
      url = next;
      continue;
    }
    if (status === 416) fail(new OutpostError('E_SOURCE_CHANGED', `server has no bytes at ${req.start} (416): the file is shorter than the one being resumed`));
    if (RETRY_STATUS.has(status)) fail(new RetryableHttpError(`HTTP ${status} from ${url.host}`, retryAfterMs(res)));
    if (status !== 200 && status !== 206) fail(new OutpostError('E_FETCH_HTTP', `HTTP ${status} from ${url.origin}${url.pathname}`));
    const contentLength = headerValue(res.headers['content-length']);
    const length = contentLength === undefined ? null : Number(contentLength);
    let start = 0;
    let totalSize = status === 200 ? length : null;
    if (status === 206) {
      const contentRange = headerValue(res.headers['content-range']);
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '');
      if (!m || Number(m[1]) !== req.start) {
        fail(new OutpostError('E_FETCH_PROTOCOL', `206 with Content-Range "${contentRange}" for a request from ${req.start}`, { retryable: true }));
      }
      start = Number(m![1]);
      totalSize = m![3] === '*' ? null : Number(m![3]);
    }
    return {
      status: status as 200 | 206,
      start,
      validator: validatorOf(res),
      totalSize,
      body: res.body(length),
      close: () => res.destroy(),
    };
  }
}
