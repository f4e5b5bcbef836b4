// Serves one bundle file with byte ranges — one range (206), several ranges (206
// multipart/byteranges, shared/http/byte-ranges.ts), 416 — ETag and Last-Modified, so the agent's
// resumable and delta downloaders have a real peer. Who may download is decided by the caller
// (hub/bundles/service.ts: a per-node download token).
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { multipartPlan, parseRangeHeader, type ByteRange } from '../../shared/http/byte-ranges.ts';

export interface ServeOptions {
  /** false: answer a request for several ranges with the whole file (200), as some servers do. */
  readonly multiRange?: boolean;
}

const CHUNK = 256 * 1024;

export function etagOf(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

export async function serveFile(path: string, req: IncomingMessage, res: ServerResponse, o: ServeOptions = {}): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch {
    res.writeHead(404).end();
    return;
  }
  if (!st.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const etag = etagOf(st.size, st.mtimeMs);
  const headers: Record<string, string | number> = {
    'accept-ranges': 'bytes',
    etag,
    'last-modified': st.mtime.toUTCString(),
    'content-type': 'application/octet-stream',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const rangeOk = ifRange === undefined || ifRange === etag || ifRange === st.mtime.toUTCString();
  let parsed = rangeOk ? parseRangeHeader(req.headers.range, st.size) : null;
  if (parsed !== null && parsed !== 'unsatisfiable' && parsed.ranges.length > 1 && o.multiRange === false) parsed = null;
  if (parsed === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${st.size}` }).end();
    return;
  }
  if (parsed !== null && parsed.ranges.length > 1) {
    const plan = multipartPlan(parsed.ranges, st.size, 'application/octet-stream', randomBytes(12).toString('hex'));
    res.writeHead(206, { ...headers, 'content-type': plan.contentType, 'content-length': plan.length });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    void sendParts(path, plan, res);
    return;
  }
  const range: ByteRange | null = parsed?.ranges[0] ?? null;
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  const length = st.size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'content-length': length,
    ...(range ? { 'content-range': `bytes ${start}-${end}/${st.size}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(path, { start, end });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** Writes each part's header and data in turn from one open file, honouring backpressure. */
async function sendParts(path: string, plan: ReturnType<typeof multipartPlan>, res: ServerResponse): Promise<void> {
  // A response already closed (the client went away, often: a delta drops the request it
  // fetched ahead when it stops) emits neither 'drain' nor 'close' again: waiting for them kept
  // the file open until garbage collection.
  const write = (b: Buffer) =>
    res.destroyed || res.write(b)
      ? Promise.resolve()
      : new Promise<void>((ok) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            ok();
          };
          res.on('drain', done);
          res.on('close', done);
          if (res.destroyed) done();
        });
  let fh: FileHandle | null = null;
  try {
    fh = await open(path, 'r');
    for (const p of plan.parts) {
      if (res.destroyed) return;
      await write(p.header);
      for (let at = p.range.start; at <= p.range.end; ) {
        if (res.destroyed) return;
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, p.range.end - at + 1));
        const { bytesRead } = await fh.read(buf, 0, buf.length, at);
        if (bytesRead === 0) throw new Error('file shrank');
        await write(buf.subarray(0, bytesRead));
        at += bytesRead;
      }
    }
    res.end(plan.trailer);
  } catch {
    res.destroy();
  } finally {
    await fh?.close();
  }
}
