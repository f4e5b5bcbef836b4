// A real HTTP(S) server on 127.0.0.1 (port 0) that serves one file and misbehaves on request:
// drops connections every N bytes, ignores Range, stalls, swaps the file mid-way, corrupts a byte.
// It counts every body byte it writes so tests can bound what a client re-fetched.
import { createServer as createHttp, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface Misbehaviour {
  /** Destroy the connection after this many body bytes in each response. */
  dropEvery?: number | null;
  /** Answer 200 with the whole file to every Range request. */
  ignoreRange?: boolean;
  /** Stop sending (connection left open) after this many body bytes, in the next `stallTimes` responses. */
  stallAfter?: number | null;
  stallTimes?: number;
  /** After this many body bytes served in total, replace the file (new ETag and Last-Modified). */
  changeAfter?: { bytes: number; body: Buffer } | null;
  /** Flip the byte at `offset` in the next `times` responses that carry it. */
  corrupt?: { offset: number; times: number } | null;
  /** Send no ETag / Last-Modified. */
  noValidators?: boolean;
  /** Answer every request with this status (e.g. 503, 404) the next `times` times. */
  failWith?: { status: number; times: number } | null;
}

export interface RequestLog {
  range: string | null;
  ifRange: string | null;
  status: number;
  sent: number;
}

export interface FlakyServer {
  readonly url: string;
  readonly port: number;
  /** Body bytes written to sockets over all responses. */
  bytesSent(): number;
  readonly requests: RequestLog[];
  set(m: Misbehaviour): void;
  /** The file currently served. */
  body(): Buffer;
  close(): Promise<void>;
}

export interface FlakyOptions extends Misbehaviour {
  body: Buffer;
  path?: string;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  chunkSize?: number;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function startFlakyServer(options: FlakyOptions): Promise<FlakyServer> {
  let body = options.body;
  let version = 1;
  const m: Misbehaviour = { stallTimes: 1, ...options };
  const path = options.path ?? '/bundle.tar';
  const chunk = options.chunkSize ?? 64 * 1024;
  let total = 0;
  const requests: RequestLog[] = [];
  const etag = () => `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}-${version}"`;
  const lastModified = () => new Date(Date.UTC(2026, 0, 1) + version * 1000).toUTCString();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const log: RequestLog = { range: req.headers.range ?? null, ifRange: (req.headers['if-range'] as string) ?? null, status: 0, sent: 0 };
    requests.push(log);
    if (req.url !== path) {
      log.status = 404;
      res.writeHead(404).end();
      return;
    }
    if (m.failWith && m.failWith.times > 0) {
      m.failWith.times--;
      log.status = m.failWith.status;
      res.writeHead(m.failWith.status, { 'retry-after': '0' }).end();
      return;
    }
    const file = body;
    const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/x-tar' };
    if (!m.noValidators) {
      headers.etag = etag();
      headers['last-modified'] = lastModified();
    }
    let start = 0;
    let end = file.length - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeHonoured = range && !m.ignoreRange && (!ifRange || ifRange === headers.etag || ifRange === headers['last-modified']);
    if (rangeHonoured) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), file.length - 1) : file.length - 1;
      if (start >= file.length || start > end) {
        log.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${file.length}`;
    }
    headers['content-length'] = end - start + 1;
    log.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let stall = false;
    if (m.stallAfter != null && (m.stallTimes ?? 0) > 0) {
      m.stallTimes = (m.stallTimes ?? 1) - 1;
      stall = true;
    }
    let corruptThis = false;
    if (m.corrupt && m.corrupt.times > 0 && m.corrupt.offset >= start && m.corrupt.offset <= end) {
      m.corrupt.times--;
      corruptThis = true;
    }
    let pos = start;
    let sent = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    while (pos <= end && !closed) {
      let n = Math.min(chunk, end + 1 - pos);
      if (m.dropEvery) n = Math.min(n, m.dropEvery - sent);
      if (stall) n = Math.min(n, m.stallAfter! - sent);
      if (n <= 0) {
        if (stall) return; // leave it hanging; the client's read deadline must notice
        res.socket?.end(); // flush what was written, then close mid-body
        return;
      }
      let piece = file.subarray(pos, pos + n);
      if (corruptThis && m.corrupt!.offset >= pos && m.corrupt!.offset < pos + n) {
        piece = Buffer.from(piece);
        piece[m.corrupt!.offset - pos]! ^= 0xff;
      }
      pos += n;
      sent += n;
      total += n;
      log.sent += n;
      const ok = res.write(piece);
      if (m.changeAfter && total >= m.changeAfter.bytes) {
        body = m.changeAfter.body;
        version++;
        m.changeAfter = null;
      }
      if (!ok) await drained(res);
    }
    if (!closed) res.end();
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.destroy());
  };
  const server: Server = options.tls
    ? createHttps({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestCert ?? false, rejectUnauthorized: options.tls.requestCert ?? false }, listener)
    : createHttp(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
    port,
    bytesSent: () => total,
    requests,
    set: (x) => Object.assign(m, x),
    body: () => body,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
