// A plain HTTP server on 127.0.0.1 for the benches: one file, streamed from disk, with Range and
// a strong ETag, like any static file server a hub would sit behind.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function serveFile(path: string): Promise<{ url: string; close(): Promise<void> }> {
  const st = statSync(path);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const ranged = m && (ifRange === undefined || ifRange === etag);
    const start = ranged ? Number(m[1]) : 0;
    const end = ranged && m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', etag, 'accept-ranges': 'bytes', 'content-length': end - start + 1 };
    if (ranged) headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
    res.writeHead(ranged ? 206 : 200, headers);
    if (req.method === 'HEAD') return res.end();
    createReadStream(path, { start, end, highWaterMark: 1 << 20 }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bundle`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
