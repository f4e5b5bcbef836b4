import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { HeadScanner, socketGet, fallback, SOCKET_READ } from '../../../agent/fetch/socket-get.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const HEAD = 'HTTP/1.1 206 Partial Content\r\ncontent-type: application/octet-stream\r\ncontent-length: 11\r\ncontent-range: bytes 0-10/99';
const RESPONSE = Buffer.from(`${HEAD}\r\n\r\nbody bytes!`, 'latin1');

/** Feeds `pieces` (views of one reused read buffer, as the socket hands them) until the head ends. */
function scan(pieces: readonly Buffer[]): { text: string; body: string; fed: number } {
  const s = new HeadScanner();
  const read = Buffer.alloc(256 << 10);
  for (const [i, p] of pieces.entries()) {
    p.copy(read);
    const found = s.feed(read.subarray(0, p.length));
    if (found) return { text: found.text, body: read.toString('latin1', found.bodyStart, p.length), fed: i + 1 };
    read.fill(0x55); // the socket reuses its buffer: what the scanner kept must be its own copy
  }
  throw new Error('head not found');
}

test('a head and the start of the body in one read', () => {
  const r = scan([RESPONSE]);
  assert.equal(r.text, HEAD);
  assert.equal(r.body, 'body bytes!');
});

test('a head split across two reads at every byte, blank line included', () => {
  for (let cut = 1; cut < RESPONSE.length; cut++) {
    const r = scan([RESPONSE.subarray(0, cut), RESPONSE.subarray(cut)]);
    const headEnd = HEAD.length + 4;
    assert.equal(r.fed, cut >= headEnd ? 1 : 2, `cut ${cut}`);
    assert.equal(r.text, HEAD, `cut ${cut}`);
    assert.equal(r.body, cut >= headEnd ? 'body bytes!'.slice(0, cut - headEnd) : 'body bytes!', `cut ${cut}`);
  }
});

test('a head fed one byte at a time', () => {
  const pieces = [...RESPONSE.subarray(0, HEAD.length + 4)].map((b) => Buffer.from([b]));
  const r = scan([...pieces, Buffer.from('xyz')]);
  assert.equal(r.text, HEAD);
  assert.equal(r.fed, HEAD.length + 4);
  assert.equal(r.body, '');
});

test('a head up to 64 KiB is read; a longer one is a protocol error, in one read or many', () => {
  const line = (n: number) => `x-pad: ${'a'.repeat(n)}`;
  const fits = `HTTP/1.1 200 OK\r\n${line((64 << 10) - 100)}`;
  assert.ok(fits.length <= 64 << 10);
  assert.equal(scan([Buffer.from(`${fits}\r\n\r\nB`, 'latin1')]).text, fits);
  const long = Buffer.from(`HTTP/1.1 200 OK\r\n${line(64 << 10)}\r\n\r\nB`, 'latin1');
  for (const pieces of [[long], [long.subarray(0, 40_000), long.subarray(40_000)]]) {
    assert.throws(() => scan(pieces), (e: unknown) => isOutpostError(e, 'E_FETCH_PROTOCOL') && /headers longer/.test((e as Error).message));
  }
});

/** A loopback server that answers every connection by writing `pieces` in turn, each after the last was flushed. */
async function serve(pieces: readonly Buffer[]): Promise<{ url: URL; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('data', async () => {
      sock.setNoDelay(true);
      for (const p of pieces) await new Promise<void>((r) => sock.write(p, () => r()));
      sock.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: new URL(`http://127.0.0.1:${port}/b`),
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

async function getBody(url: URL): Promise<{ status: number; body: Buffer }> {
  const r = await socketGet({ url, headers: {}, tls: { ca: [] } as never, signal: AbortSignal.timeout(60_000), deadlineMs: 60_000 });
  if (r === fallback) throw new Error('fallback');
  const parts: Buffer[] = [];
  for await (const c of r.body) parts.push(Buffer.from(c)); // a chunk is valid until the next is asked for
  return { status: r.statusCode, body: Buffer.concat(parts) };
}

test('socketGet: the body that follows the head, whole, however the server wrote it', async () => {
  const body = randomBytes(SOCKET_READ * 2 + 12_345);
  const head = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`, 'latin1');
  const whole = Buffer.concat([head, body]);
  for (const pieces of [[whole], [head.subarray(0, 7), head.subarray(7, head.length - 2), Buffer.concat([head.subarray(head.length - 2), body])], [head, body.subarray(0, 1), body.subarray(1)]]) {
    const s = await serve(pieces);
    try {
      const got = await getBody(s.url);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(body));
    } finally {
      await s.close();
    }
  }
});

test('socketGet: a head cut short by the server is a protocol error', async () => {
  const s = await serve([Buffer.from('HTTP/1.1 200 OK\r\ncontent-len', 'latin1')]);
  try {
    await assert.rejects(getBody(s.url), (e: unknown) => isOutpostError(e, 'E_FETCH_PROTOCOL') || isOutpostError(e, 'E_FETCH_NETWORK'));
  } finally {
    await s.close();
  }
});
