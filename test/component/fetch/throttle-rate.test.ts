// The throttle's correctness property, measured with the real clock against a real server: never
// more than 2 MiB/s (+10%) over 3 s and no start-up burst. Falling short of the cap is not checked
// here: on a loaded machine the reader itself may be slower (the unit test checks every 10-s span
// against an injected clock, exactly).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startFlakyServer } from '../../support/flaky-http-server.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { openRange } from '../../../agent/fetch/http-range.ts';
import { TokenBucket, throttled } from '../../../agent/fetch/throttle.ts';

const server = await startFlakyServer({ body: randomBytes(32 * 1024 * 1024) });
after(() => server.close());

test('2 MiB/s throttle: the measured rate over 3 s never exceeds the cap (+10%)', async () => {
  const rate = 2 * 1024 * 1024;
  const bucket = new TokenBucket({ rate });
  const transport = new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] });
  const ac = new AbortController();
  const res = await openRange(transport, { url: new URL(server.url), start: 0, end: null, validator: null, signal: ac.signal, deadlineMs: 5000 });
  const t0 = performance.now();
  let bytes = 0;
  let firstSecond = 0;
  try {
    for await (const piece of throttled(res.body, bucket, ac.signal)) {
      bytes += piece.length;
      const elapsed = performance.now() - t0;
      if (elapsed <= 1000) firstSecond = bytes;
      if (elapsed >= 3000) break;
    }
  } finally {
    res.close();
    ac.abort();
  }
  const seconds = (performance.now() - t0) / 1000;
  const measured = bytes / seconds;
  assert.ok(measured <= rate * 1.1 && bytes > 0, `measured ${(measured / 1048576).toFixed(3)} MiB/s over ${seconds.toFixed(2)} s`);
  assert.ok(firstSecond <= rate * 1.1, `no start-up burst: ${firstSecond} bytes in the first second`);
});
