// A server's multipart answer to a delta's ranges is buffered part by part, so it is bounded by
// what was asked: parts outside the asked span, or parts repeated beyond it, are refused with
// E_FETCH_PROTOCOL (retryable) instead of growing the buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { getRanges } from '../../../agent/fetch/delta/range-get.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const FILE = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(100));

/** Answers every GET with these parts of FILE as multipart/byteranges. */
async function serve(parts: Array<[number, number]>): Promise<{ server: Server; url: URL }> {
  const server = createServer((_req, res) => {
    const b = 'BOUNDARY';
    const body = Buffer.concat([
      ...parts.flatMap(([s, e]) => [Buffer.from(`\r\n--${b}\r\ncontent-type: application/octet-stream\r\ncontent-range: bytes ${s}-${e}/${FILE.length}\r\n\r\n`), FILE.subarray(s, e + 1)]),
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    res.writeHead(206, { 'content-type': `multipart/byteranges; boundary=${b}`, 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/b`) };
}

const ask = (url: URL) =>
  getRanges({ transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }), url, validator: null, signal: AbortSignal.timeout(20_000), deadlineMs: 10_000 }, [
    { start: 100, end: 199 },
    { start: 300, end: 399 },
  ]);

test('the parts asked for are returned as served', async () => {
  const { server, url } = await serve([[100, 199], [300, 399]]);
  try {
    const r = await ask(url);
    assert.equal(r.kind, 'parts');
    if (r.kind !== 'parts') return;
    assert.deepEqual(r.pieces.map((p) => [p.start, p.data.toString()]), [[100, FILE.subarray(100, 200).toString()], [300, FILE.subarray(300, 400).toString()]]);
  } finally {
    server.close();
  }
});

test('parts outside the span asked, or repeated beyond it, are a protocol error', async () => {
  for (const parts of [[[100, 199], [300, 400]], [[100, 399], [100, 399], [100, 399]]] as Array<Array<[number, number]>>) {
    const { server, url } = await serve(parts);
    try {
      await assert.rejects(ask(url), (err: unknown) => isOutpostError(err, 'E_FETCH_PROTOCOL') && err.retryable === true, JSON.stringify(parts));
    } finally {
      server.close();
    }
  }
});
