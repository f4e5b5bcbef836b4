// One ranged request against a real misbehaving server: statuses, validators, stalls, drops, abort.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startFlakyServer } from '../../support/flaky-http-server.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { openRange, RetryableHttpError } from '../../../agent/fetch/http-range.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const body = randomBytes(1024 * 1024 + 123);
const server = await startFlakyServer({ body });
after(() => server.close());
const transport = new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] });
const url = new URL(server.url);

async function drain(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c)); // a chunk is valid only until the next is read
  return Buffer.concat(parts);
}

const open = (start: number, end: number | null, extra: { validator?: string | null; deadlineMs?: number; signal?: AbortSignal } = {}) =>
  openRange(transport, { url, start, end, validator: extra.validator ?? null, signal: extra.signal ?? AbortSignal.timeout(10_000), deadlineMs: extra.deadlineMs ?? 5000 });

test('206 for a bounded range; the body is exactly that slice; validator is the ETag', async () => {
  server.set({});
  const res = await open(1000, 200_000);
  assert.equal(res.status, 206);
  assert.equal(res.start, 1000);
  assert.equal(res.totalSize, body.length);
  assert.match(res.validator ?? '', /^"/);
  assert.deepEqual(await drain(res.body), body.subarray(1000, 200_001));
  assert.equal(server.requests.at(-1)!.range, 'bytes=1000-200000');
});

test('If-Range with the current ETag gets 206; a stale one gets the whole file (200)', async () => {
  const first = await open(0, 10);
  await drain(first.body);
  const ok = await open(500, null, { validator: first.validator });
  assert.equal(ok.status, 206);
  ok.close();
  const stale = await open(500, null, { validator: '"not-it"' });
  assert.equal(stale.status, 200);
  assert.equal(stale.start, 0);
  stale.close();
});

test('a server that ignores Range answers 200 from byte 0', async () => {
  server.set({ ignoreRange: true });
  try {
    const res = await open(4096, null);
    assert.equal(res.status, 200);
    assert.equal(res.start, 0);
    assert.equal((await drain(res.body)).length, body.length);
  } finally {
    server.set({ ignoreRange: false });
  }
});

test('a dropped connection is a retryable E_FETCH_NETWORK after the bytes that did arrive', async () => {
  server.set({ dropEvery: 300_000 });
  try {
    const res = await open(0, null);
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const c of res.body) got += c.length;
      })(),
      (e) => isOutpostError(e, 'E_FETCH_NETWORK') && e.retryable,
    );
    assert.equal(got, 300_000);
  } finally {
    server.set({ dropEvery: null });
  }
});

test('regression: with a slow consumer, every byte received before the drop is delivered before the error', async () => {
  server.set({ dropEvery: 700_000 });
  try {
    const res = await open(0, null, { signal: AbortSignal.timeout(60_000), deadlineMs: 30_000 });
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const c of res.body) {
          got += c.length;
          await new Promise((r) => setTimeout(r, 10)); // a busy slot: received bytes wait in buffers
        }
      })(),
      (e) => isOutpostError(e, 'E_FETCH_NETWORK') && e.retryable,
    );
    assert.equal(got, 700_000, 'nothing that arrived was thrown away');
  } finally {
    server.set({ dropEvery: null });
  }
});

test('a stalled body fails with E_FETCH_STALL after the read deadline', async () => {
  server.set({ stallAfter: 100_000, stallTimes: 1 });
  const res = await open(0, null, { deadlineMs: 300 });
  await assert.rejects(drain(res.body), (e) => isOutpostError(e, 'E_FETCH_STALL') && e.retryable);
});

test('a slow consumer is not a stall: the deadline only runs while waiting for the network', async () => {
  // The pause outlasts the read deadline; the deadline itself is loose enough that a loaded
  // machine's own scheduling delays on loopback never trip it.
  const res = await open(0, 300_000, { deadlineMs: 2_000 });
  let n = 0;
  let paused = 0;
  for await (const c of res.body) {
    n += c.length;
    // The first chunk may hold most of the body (reads go into 256 KiB buffers): pause on it.
    if (n < 300_001 && paused++ < 2) await new Promise((r) => setTimeout(r, 2_500));
  }
  assert.ok(paused >= 1, 'the consumer paused past the deadline at least once');
  assert.equal(n, 300_001);
});

test('statuses: 503 is retryable with Retry-After, 404 is final, 416 means the file changed', async () => {
  server.set({ failWith: { status: 503, times: 1 } });
  await assert.rejects(open(0, null), (e) => e instanceof RetryableHttpError && e.retryAfterMs === 0);
  await assert.rejects(openRange(transport, { url: new URL('/missing', url), start: 0, end: null, validator: null, signal: AbortSignal.timeout(5000), deadlineMs: 5000 }), (e) => isOutpostError(e, 'E_FETCH_HTTP') && !e.retryable);
  await assert.rejects(open(body.length + 10, null), (e) => isOutpostError(e, 'E_SOURCE_CHANGED'));
});

test('aborting mid-body rejects with the signal reason', async () => {
  const ac = new AbortController();
  server.set({ stallAfter: 64 * 1024, stallTimes: 1 });
  const res = await open(0, null, { signal: ac.signal, deadlineMs: 10_000 });
  const reading = drain(res.body);
  setTimeout(() => ac.abort(new Error('window closed')), 50);
  await assert.rejects(reading, /window closed/);
});

test('a refused connection is a retryable network error', async () => {
  const closed = await startFlakyServer({ body });
  const dead = new URL(closed.url);
  await closed.close();
  await assert.rejects(
    openRange(transport, { url: dead, start: 0, end: null, validator: null, signal: AbortSignal.timeout(5000), deadlineMs: 2000 }),
    (e) => isOutpostError(e, 'E_FETCH_NETWORK') && e.retryable,
  );
});

test('redirects are followed (bounded); https → http is refused', async () => {
  const { createServer } = await import('node:http');
  const hops = createServer((req, res) => {
    const n = Number(req.url!.slice(1));
    res.writeHead(302, { location: n > 0 ? `/${n - 1}` : server.url }).end();
  });
  await new Promise<void>((r) => hops.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(hops.address() as { port: number }).port}`;
    const res = await openRange(transport, { url: new URL(`${base}/3`), start: 10, end: 19, validator: null, signal: AbortSignal.timeout(5000), deadlineMs: 5000 });
    assert.deepEqual(await drain(res.body), body.subarray(10, 20));
    await assert.rejects(
      openRange(transport, { url: new URL(`${base}/9`), start: 0, end: null, validator: null, signal: AbortSignal.timeout(5000), deadlineMs: 5000 }),
      (e) => isOutpostError(e, 'E_FETCH_REDIRECT'),
    );
  } finally {
    hops.closeAllConnections();
    await new Promise((r) => hops.close(r));
  }
});
