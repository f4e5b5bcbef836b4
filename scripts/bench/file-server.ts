// A plain HTTP server on 127.0.0.1 for the benches: one file, streamed from disk, with Range and
// a strong ETag, like any static file server a hub would sit behind. The body is read into two
// reused buffers, one read ahead, as such servers do (or they sendfile): fs.createReadStream
// allocates a fresh buffer per chunk, and on a 2-core machine that server then cost 0.5–0.9 s of
// CPU per 256 MiB and bounded the download it was meant to serve. A request for several ranges
// (a delta) is answered as the hub answers it, multipart/byteranges: answered with the whole file
// (200), it made the delta fetch one range per request, a connection each.
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { etagOf, serveFile as hubServe } from '../../hub/bundles/serve.ts';

export interface FileServer {
  readonly url: string;
  /** Bytes written to clients so far (headers included), over every connection. */
  sent(): number;
  close(): Promise<void>;
}

export async function serveFile(path: string): Promise<FileServer> {
  const st = statSync(path);
  const etag = etagOf(st.size, st.mtimeMs); // the hub's, so a delta's If-Range matches whichever of the two answers
  const server = createServer((req, res) => {
    // Several ranges (a delta): multipart/byteranges as the hub answers them (hub/bundles/serve.ts).
    if ((req.headers.range ?? '').includes(',')) return void hubServe(path, req, res);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const ranged = m && (ifRange === undefined || ifRange === etag);
    const start = ranged ? Number(m[1]) : 0;
    const end = ranged && m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', etag, 'accept-ranges': 'bytes', 'content-length': end - start + 1 };
    if (ranged) headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
    res.writeHead(ranged ? 206 : 200, headers);
    if (req.method === 'HEAD') return res.end();
    sendRange(path, start, end, res).catch(() => res.destroy());
  });
  // what a delta costs the site's link: counted on the sockets, closed or still open
  const live = new Set<Socket>();
  let closed = 0;
  server.on('connection', (socket) => {
    live.add(socket);
    socket.once('close', () => {
      live.delete(socket);
      closed += socket.bytesWritten;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bundle`,
    sent: () => [...live].reduce((n, socket) => n + socket.bytesWritten, closed),
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const CHUNK = 1 << 20;

/** Bytes [start, end] of the file into `res`; each buffer is reused once its write completed. */
async function sendRange(path: string, start: number, end: number, res: ServerResponse): Promise<void> {
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
  const written: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  try {
    let turn = 0;
    for (let pos = start; pos <= end && !res.destroyed; turn ^= 1) {
      await written[turn]; // this buffer's previous write is out
      const { bytesRead } = await fh.read(bufs[turn]!, 0, Math.min(CHUNK, end + 1 - pos), pos);
      if (bytesRead === 0) throw new Error(`${path} ended at ${pos}`);
      pos += bytesRead;
      written[turn] = new Promise<void>((resolve, reject) => res.write(bufs[turn]!.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())));
      written[turn]!.catch(() => {}); // awaited before the buffer is reused, or below
    }
    await Promise.all(written);
    res.end();
  } finally {
    await fh.close();
  }
}
