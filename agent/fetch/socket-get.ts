// A direct GET whose body is read from the socket straight into a few reused buffers (the
// socket's `onread` option). Through node:http every socket read becomes a fresh 64 KiB buffer
// and passes the HTTP parser, a readable stream and its events: measured on a 256 MiB download,
// 5× the CPU of reading the same bytes into reused buffers, and the garbage it leaves behind
// was most of a download's peak private memory. A bundle body is one plain stream of bytes, so
// this reads the status line and headers itself and then hands on the socket's reads as they
// are. It covers direct connections (http and https) and bodies delimited by Content-Length or
// by the end of the connection; anything else (a chunked body, an interim response) is left to
// node:http (`fallback`). A yielded chunk is valid until the caller asks for the next one.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { OutpostError } from '../../shared/errors.ts';
import { DataWait } from './data-wait.ts';
import { networkError } from '../net/http-transport.ts';
import { tls } from '../net/lazy-tls.ts';
import type { TlsMaterial } from '../net/tls-options.ts';

/** Read buffers: one being filled, the rest queued for or held by the consumer. */
const RING = 4;
// 512 KiB reads: 5 % less CPU for a 256 MiB download than 256 KiB (fewer reads and callbacks),
// for 1 MiB more memory; 1 MiB reads saved no more.
export const SOCKET_READ = 512 << 10;
/** Status line and headers must fit in this. */
const MAX_HEAD = 64 << 10;

// Read buffers of finished responses, for the next request: a delta makes a hundred range requests
// per 256 MiB, and a fresh ring (2 MiB outside the heap) each time made V8 collect garbage for
// seconds. A buffer comes back only once its response's body is done and its socket destroyed.
const spare: Buffer[] = [];
const SPARE_MAX = RING;

function readBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(SOCKET_READ);
}

export interface HeadOnly {
  readonly statusCode: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
}

export interface SocketResponse extends HeadOnly {
  readonly body: AsyncIterable<Buffer>;
  /** Drops the connection (idempotent). */
  destroy(): void;
}

export interface SocketGetSpec {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly tls: TlsMaterial;
  readonly signal: AbortSignal;
  /** Connect + TLS + response headers must finish within this; later, each wait for data. */
  readonly deadlineMs: number;
}

/** The response could not be read this way; the caller makes the request through node:http. */
export const fallback = Symbol('fallback');

const protocolError = (why: string) => new OutpostError('E_FETCH_PROTOCOL', `malformed HTTP response: ${why}`, { retryable: true });

/** Parses a complete head (without the final blank line); `fallback` when it is not one read here. */
export function parseHead(text: string): HeadOnly | typeof fallback {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!m) throw protocolError(`status line "${lines[0]!.slice(0, 80)}"`);
  const statusCode = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(line)) throw protocolError(`header line "${line.slice(0, 80)}"`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  // Only a 200 or 206 body is read; other statuses are answered from their headers alone.
  if (statusCode < 200 || ((statusCode === 200 || statusCode === 206) && headers['transfer-encoding'] !== undefined)) return fallback;
  if (headers['content-length'] !== undefined && !/^\d+$/.test(headers['content-length'])) throw protocolError(`Content-Length "${headers['content-length']}"`);
  return { statusCode, headers };
}

/**
 * Finds the end of a response head across socket reads. Only header bytes are ever copied: the
 * first read holds the head and the start of the body, which a copy of the whole read duplicated
 * (up to 512 KiB per response, and a delta makes a range request per few MiB).
 */
export class HeadScanner {
  #head: Buffer = Buffer.alloc(0);

  /**
   * The head's text (without the blank line) and the offset of the body's first byte in `data`;
   * null when the head goes on past `data` (its bytes are kept). Throws past MAX_HEAD.
   */
  feed(data: Buffer): { readonly text: string; readonly bodyStart: number } | null {
    const had = this.#head.length;
    const look = data.subarray(0, MAX_HEAD + 4 - had);
    const at = had === 0 ? look : Buffer.concat([this.#head, look]);
    const end = at.indexOf('\r\n\r\n', Math.max(0, had - 3), 'latin1');
    if (end >= 0) return { text: at.toString('latin1', 0, end), bodyStart: end + 4 - had };
    this.#head = had === 0 ? Buffer.from(look) : at; // look is a view of the caller's buffer
    if (this.#head.length > MAX_HEAD) throw protocolError(`headers longer than ${MAX_HEAD} bytes`);
    return null;
  }
}

export function socketGet(spec: SocketGetSpec): Promise<SocketResponse | typeof fallback> {
  const { url, signal } = spec;
  signal.throwIfAborted();
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (https ? 443 : 80);

  const ring = Array.from({ length: RING }, readBuffer);
  const free = [...ring];
  /** Every read buffer this response took (the ring, and any taken beyond it). */
  const owned = new Set<ArrayBufferLike>(ring.map((b) => b.buffer));
  const queue: Buffer[] = [];
  /** The chunk the consumer holds: its buffer comes back when it asks for the next. */
  let held: Buffer | null = null;
  let paused = false;
  let ended = false;
  let failure: unknown = null;
  const data = new DataWait();
  const notify = () => data.notify();

  // Head bytes until the blank line; then body bytes are passed on as read.
  let scanner: HeadScanner | null = new HeadScanner();
  let onHead: ((h: { head: HeadOnly | typeof fallback } | { error: unknown }) => void) | null = null;
  let remaining = Infinity; // body bytes still expected (Content-Length), once the head is in

  /** Returns the read buffer under `b` (any view of it) for another read. */
  const give = (b: Buffer) => {
    const ab = b.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === SOCKET_READ) free.push(Buffer.from(ab, 0, SOCKET_READ));
  };
  const take = (): Buffer => {
    const b = free.pop() ?? readBuffer(); // never empty: reading pauses first
    owned.add(b.buffer);
    return b;
  };

  const onread = {
    buffer: take,
    callback: (n: number, buf: Buffer): boolean => {
      let data = buf.subarray(0, n);
      if (scanner !== null) {
        let found: ReturnType<HeadScanner['feed']>;
        let parsed: HeadOnly | typeof fallback;
        try {
          found = scanner.feed(data);
          if (found === null) {
            give(buf);
            return true;
          }
          scanner = null;
          parsed = parseHead(found.text);
        } catch (err) {
          give(buf);
          fail(err);
          return false;
        }
        if (parsed !== fallback) {
          const length = parsed.headers['content-length'];
          remaining = parsed.statusCode === 204 || parsed.statusCode === 304 ? 0 : length === undefined ? Infinity : Number(length);
        }
        data = buf.subarray(found.bodyStart, n);
        onHead?.({ head: parsed });
        onHead = null;
        if (parsed === fallback) {
          give(buf);
          socket.destroy();
          return false;
        }
      }
      if (data.length > remaining) data = data.subarray(0, remaining);
      if (data.length === 0) give(buf);
      else {
        remaining -= data.length;
        queue.push(data);
      }
      if (remaining === 0) ended = true;
      notify();
      // The next read needs a buffer of its own (taken right after this returns): keep one back.
      if (free.length <= 1) {
        paused = true;
        return false;
      }
      return true;
    },
  };

  const options = { host, port, onread };
  const socket: Socket = https
    ? tls().connect({ ...options, servername: isIP(host) ? undefined : host, ca: [...spec.tls.ca], cert: spec.tls.cert, key: spec.tls.key })
    : netConnect(options);
  const fail = (err: unknown) => {
    failure ??= err;
    if (onHead) {
      onHead({ error: err });
      onHead = null;
    }
    socket.destroy();
    notify();
  };
  socket.on('error', (err) => fail(err));
  socket.on('end', () => {
    if (scanner !== null) fail(protocolError('connection closed before the headers ended'));
    else if (remaining !== Infinity && remaining > 0) failure ??= new OutpostError('E_FETCH_NETWORK', `connection closed ${remaining} bytes before the body's end`, { retryable: true });
    ended = true;
    notify();
  });
  socket.on('close', () => {
    if (!ended) fail(new Error('connection closed'));
    notify();
  });
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close'];
  for (const [k, v] of Object.entries(spec.headers)) {
    if (/[\r\n]/.test(k + v)) throw new OutpostError('E_FETCH_URL', `header ${k} holds a line break`);
    lines.push(`${k}: ${v}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

  async function* body(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (held) {
          give(held);
          held = null;
          if (paused && free.length >= 1) {
            paused = false;
            socket.resume();
          }
        }
        if (signal.aborted) throw signal.reason;
        const c = queue.shift();
        if (c !== undefined) {
          held = c;
          yield c;
          continue;
        }
        if (failure !== null) throw networkError(failure, 'reading response');
        if (ended) return;
        // The deadline only runs while we wait for the network (a slow consumer is not a stall).
        await data.wait(spec.deadlineMs, (stall) => {
          failure ??= stall;
          socket.destroy();
        });
      }
    } finally {
      socket.destroy(); // no read into any of them after this: the body is done, nothing is held
      for (const ab of owned) if (spare.length < SPARE_MAX && ab instanceof ArrayBuffer) spare.push(Buffer.from(ab, 0, SOCKET_READ));
      owned.clear();
    }
  }

  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new OutpostError('E_FETCH_STALL', `no response from ${url.host} within ${spec.deadlineMs} ms`, { retryable: true })),
      spec.deadlineMs,
    );
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    onHead = (r) => {
      clearTimeout(timer);
      if ('error' in r) {
        signal.removeEventListener('abort', onAbort);
        return reject(signal.aborted ? signal.reason : networkError(r.error, `GET ${url.origin}${url.pathname}`));
      }
      if (r.head === fallback) {
        signal.removeEventListener('abort', onAbort);
        return resolve(fallback);
      }
      // Aborting must also end a body nobody is reading at the moment.
      socket.once('close', () => signal.removeEventListener('abort', onAbort));
      resolve({ ...r.head, body: body(), destroy: () => socket.destroy() });
    };
    if (failure !== null) fail(failure); // failed while writing the request
  });
}
