// The HTTP BundleSource against a real misbehaving server and the real verifier, writing into a
// file-backed slot-like sink. Each case checks the slot digest and what the server had to send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFlakyServer, type FlakyServer } from '../../support/flaky-http-server.ts';
import { makeTestBundle, FileSlotSink, type TestBundle } from './test-bundle.ts';
import { HttpBundleSource, type HttpSourceOptions } from '../../../agent/fetch/http-source.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import type { ResumePoint } from '../../../agent/bundle/source.ts';

const BLOCK = 64 * 1024;
const SIZE = 6 * 1024 * 1024 + 1234; // last block partial
const BLOCKS = Math.ceil(SIZE / BLOCK);
let dir: string;
let b: TestBundle;
let other: TestBundle;
let server: FlakyServer;
let dataOffset: number;
let slotN = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-fetch-'));
  b = await makeTestBundle(dir, { size: SIZE, blockSize: BLOCK });
  other = await makeTestBundle(dir, { size: SIZE, blockSize: BLOCK, name: 'other', release: 2 });
  dataOffset = b.verifier.verifyHeadBytes(await headOf(b)).payloads[0]!.dataOffset;
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function headOf(t: TestBundle): Promise<Buffer> {
  const h = await t.verifier.readHead((async function* () { yield t.bytes; })());
  return h.headBytes;
}

async function serve(m: Parameters<typeof startFlakyServer>[0] extends infer O ? Omit<O & object, 'body'> : never = {}): Promise<FlakyServer> {
  await server?.close();
  server = await startFlakyServer({ body: b.bytes, ...m });
  return server;
}

function source(extra: Partial<HttpSourceOptions> = {}): HttpBundleSource {
  return new HttpBundleSource(server.url, {
    transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }),
    retry: { baseMs: 1, capMs: 5, maxAttempts: 5 },
    readDeadlineMs: 2000,
    ...extra,
  });
}

async function run(src: HttpBundleSource, resume: ResumePoint | null = null, signal = AbortSignal.timeout(30_000), sink = new FileSlotSink(join(dir, `slot-${slotN++}`), resume)) {
  try {
    const head = await src.deliver({ sink, resume, signal, verifier: b.verifier, onValidator: (v) => (sink.validator = v) });
    return { head, sink, digest: await sink.digest(SIZE) };
  } finally {
    await sink.close();
  }
}

/** Offsets the server was asked to start at, after the first request. */
function rangeStarts(): number[] {
  return server.requests.slice(1).map((r) => Number(/bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? 0));
}

test('clean download: head first, every block once, digest right, file sent exactly once', async () => {
  await serve();
  const { head, sink, digest } = await run(source());
  assert.equal(head.manifest.payloads[0]!.sha256, b.imageSha256);
  assert.equal(digest, b.imageSha256);
  assert.equal(sink.nextBlock, BLOCKS);
  assert.equal(sink.ended, true, 'single pass: the verifier checked the whole digest');
  assert.match(sink.validator ?? '', /^"/);
  assert.equal(server.bytesSent(), b.bytes.length);
  assert.equal(server.requests.length, 1);
});

test('connection dropped every 1 MiB: resumes by Range from the first missing block; ≤ 1 block re-fetched per drop', async () => {
  await serve({ dropEvery: 1024 * 1024 + 777 });
  const { digest, sink } = await run(source());
  assert.equal(digest, b.imageSha256);
  assert.equal(sink.begins, 1);
  const drops = server.requests.length - 1;
  assert.ok(drops >= 5, `expected several drops, got ${drops}`);
  assert.ok(server.bytesSent() <= b.bytes.length + drops * BLOCK, `sent ${server.bytesSent()} for ${b.bytes.length} with ${drops} drops`);
  for (const start of rangeStarts()) assert.equal((start - dataOffset) % BLOCK, 0, 'ranges start on block boundaries');
  for (const r of server.requests.slice(1)) assert.match(r.ifRange ?? '', /^"/, 'If-Range pins the version');
});

test('stalled connection: the read deadline ends the attempt and the download resumes', async () => {
  await serve({ stallAfter: 2 * 1024 * 1024, stallTimes: 2 });
  const { digest } = await run(source({ readDeadlineMs: 300 }));
  assert.equal(digest, b.imageSha256);
  assert.equal(server.requests.length, 3);
  assert.ok(server.bytesSent() <= b.bytes.length + 2 * BLOCK);
});

test('server ignores Range (200): skips to the first missing block without writing anything twice', async () => {
  await serve({ ignoreRange: true, stallAfter: 3 * 1024 * 1024, stallTimes: 1 });
  const { digest, sink } = await run(source({ readDeadlineMs: 300 }));
  assert.equal(digest, b.imageSha256);
  assert.equal(sink.nextBlock, BLOCKS);
  assert.deepEqual(server.requests.map((r) => r.status), [200, 200]);
  assert.equal(server.bytesSent(), 3 * 1024 * 1024 + b.bytes.length);
});

test('a corrupted block is fetched again from that block; persistent corruption fails with E_FETCH_BLOCK_CORRUPT', async () => {
  const bad = dataOffset + 10 * BLOCK + 5;
  await serve({ corrupt: { offset: bad, times: 1 } });
  const { digest } = await run(source());
  assert.equal(digest, b.imageSha256);
  assert.deepEqual(rangeStarts(), [dataOffset + 10 * BLOCK]);

  await serve({ corrupt: { offset: bad, times: 100 } });
  await assert.rejects(run(source({ maxBlockRetries: 2 })), (e) => isOutpostError(e, 'E_FETCH_BLOCK_CORRUPT') && /block 10/.test(e.message));
  assert.equal(server.requests.length, 3, 'first try + 2 retries');
});

test('file replaced mid-download: E_SOURCE_CHANGED (the caller restarts cleanly)', async () => {
  await serve({ dropEvery: 1024 * 1024, changeAfter: { bytes: 1536 * 1024, body: other.bytes } });
  await assert.rejects(run(source()), (e) => isOutpostError(e, 'E_SOURCE_CHANGED'));
});

test('resume from a persisted point (new process): head re-verified, Range from nextBlock, no second begin', async () => {
  await serve();
  const ac = new AbortController();
  const first = new FileSlotSink(join(dir, 'slot-resume'));
  first.onBlock = (i) => {
    if (i === 39) ac.abort(new Error('agent stopped'));
  };
  await assert.rejects(run(source(), null, ac.signal, first), /agent stopped/);
  assert.equal(first.nextBlock, 40);
  const point = first.resumePoint();
  const before = server.requests.length;
  const second = new FileSlotSink(join(dir, 'slot-resume'), point);
  const { digest } = await run(source(), point, AbortSignal.timeout(30_000), second);
  assert.equal(digest, b.imageSha256);
  assert.equal(second.begins, 0, 'the sink was set up by the earlier attempt');
  assert.equal(server.requests.length, before + 1);
  assert.equal(server.requests.at(-1)!.range, `bytes=${dataOffset + 40 * BLOCK}-${dataOffset + SIZE - 1}`);
  assert.equal(server.requests.at(-1)!.sent, SIZE - 40 * BLOCK, 'only the missing blocks were sent');
});

test('resume against a changed file: E_SOURCE_CHANGED; a resume point with the wrong validator too', async () => {
  await serve();
  const headBytes = await headOf(b);
  const point: ResumePoint = { headBytes, payload: 'rootfs.img', nextBlock: 10, validator: '"stale-etag"' };
  await assert.rejects(run(source(), point), (e) => isOutpostError(e, 'E_SOURCE_CHANGED'));
});

test('without validators a swapped file is still caught by the block hashes', async () => {
  await serve({ noValidators: true, dropEvery: 1024 * 1024, changeAfter: { bytes: 1536 * 1024, body: other.bytes } });
  await assert.rejects(run(source({ maxBlockRetries: 1 })), (e) => isOutpostError(e, 'E_FETCH_BLOCK_CORRUPT'));
});

test('retries are bounded: persistent 503 ends in E_FETCH_RETRIES; 404 fails at once', async () => {
  await serve({ failWith: { status: 503, times: 1000 } });
  await assert.rejects(run(source({ retry: { baseMs: 1, capMs: 2, maxAttempts: 3 } })), (e) => isOutpostError(e, 'E_FETCH_RETRIES') && e.retryable);
  assert.equal(server.requests.length, 4);
  await serve({ failWith: { status: 404, times: 1000 } });
  await assert.rejects(run(source()), (e) => isOutpostError(e, 'E_FETCH_HTTP') && !e.retryable);
  assert.equal(server.requests.length, 1);
});

test('a server that keeps stalling: gives up after giveUpAfterMs without progress (E_FETCH_RETRIES)', async () => {
  await serve({ stallAfter: 1000, stallTimes: 1_000_000 });
  await assert.rejects(run(source({ readDeadlineMs: 50, retry: { baseMs: 1, capMs: 5, maxAttempts: 1000, giveUpAfterMs: 400 } })), (e) => isOutpostError(e, 'E_FETCH_RETRIES') && isOutpostError(e.cause, 'E_FETCH_STALL'));
});

test('an abort during a backoff wait ends deliver() with the abort reason, promptly', async () => {
  await serve({ failWith: { status: 503, times: 1000 } });
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('window closed')), 100);
  await assert.rejects(run(source({ retry: { baseMs: 60_000, capMs: 60_000, maxAttempts: 5 }, random: () => 1 }), null, ac.signal), /window closed/);
});

test('bytes are metered for the budget, skipped ones included', async () => {
  await serve();
  let metered = 0;
  await run(source({ onBytes: (n) => (metered += n) }));
  assert.equal(metered, b.bytes.length);
});

test('link drops while a slow slot leaves received bytes waiting: ≤ 1 block re-fetched per drop', async () => {
  // Each drop lands 100 bytes before a block boundary: the partial block alone costs almost a
  // block, so any received byte thrown away on top of it breaks the bound.
  await serve({ dropEvery: 16 * BLOCK - 100 });
  // A slow slot (busy flash): when the server closes, received bytes are still waiting to be read.
  class SlowSink extends FileSlotSink {
    override async block(...a: Parameters<FileSlotSink['block']>): Promise<void> {
      await new Promise((r) => setTimeout(r, 40));
      return super.block(...a);
    }
  }
  const { digest } = await run(source(), null, AbortSignal.timeout(60_000), new SlowSink(join(dir, `slot-${slotN++}`), null));
  assert.equal(digest, b.imageSha256);
  const drops = server.requests.length - 1;
  assert.ok(drops >= 5, `expected several drops, got ${drops}`);
  const refetched = server.bytesSent() - b.bytes.length;
  assert.ok(refetched <= drops * BLOCK, `re-fetched ${refetched} bytes (${(refetched / BLOCK).toFixed(2)} blocks) over ${drops} drops`);
});
