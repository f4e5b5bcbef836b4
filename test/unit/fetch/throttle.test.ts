// Token bucket against an injected clock: the released byte count tracks rate × time exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, throttled } from '../../../agent/fetch/throttle.ts';

function virtualClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      t += ms;
    },
    advance: (ms: number) => (t += ms),
  };
}

async function* chunks(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size);
}

test('bytes over any span stay within one bucket of rate × time', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ rate: 100_000, now: clock.now, sleep: clock.sleep });
  const marks: Array<[number, number]> = [];
  let total = 0;
  for await (const piece of throttled(chunks(200, 7000), bucket)) {
    total += piece.length;
    marks.push([clock.now(), total]);
    assert.ok(piece.length <= bucket.piece);
  }
  assert.equal(total, 1_400_000);
  // The bucket starts empty: no initial burst, so the total takes ~14 s.
  assert.ok(clock.now() >= 13_900 && clock.now() <= 14_100, `took ${clock.now()} ms`);
  for (const [t0, b0] of marks) {
    for (const [t1, b1] of marks) {
      if (t1 - t0 < 10_000) continue;
      const expected = ((t1 - t0) * 100_000) / 1000;
      assert.ok(Math.abs(b1 - b0 - expected) <= bucket.burst + 7000, `span ${t0}–${t1}: ${b1 - b0} vs ${expected}`);
    }
  }
});

test('rate changes apply to the next piece; null is unlimited', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ rate: 1000, now: clock.now, sleep: clock.sleep });
  await bucket.take(50);
  const t0 = clock.now();
  bucket.setRate(null);
  await bucket.take(1_000_000);
  assert.equal(clock.now(), t0);
  bucket.setRate(10_000);
  await bucket.take(500);
  assert.ok(clock.now() - t0 >= 49 && clock.now() - t0 <= 60);
});

test('an abort ends a wait', async () => {
  const bucket = new TokenBucket({ rate: 1 });
  const ac = new AbortController();
  const waiting = bucket.take(bucket.piece, ac.signal);
  ac.abort(new Error('closed'));
  await assert.rejects(waiting, /closed/);
});
