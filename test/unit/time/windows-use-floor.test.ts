// Decisions the agent makes (bandwidth windows, expiries) take "now" from the floor's Clock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimeFloor } from '../../../agent/time/floor.ts';

// The consumers' shape (agent/window/window.ts and offer expiry): pure predicates over a `now`
// that the caller takes from an injected Clock. Kept here so this test pins the floor's side.
const DAY = 86_400_000;
function isWithinDailyWindow(w: { startMinute: number; endMinute: number }, now: number): boolean {
  const minute = Math.floor((((now % DAY) + DAY) % DAY) / 60_000);
  return minute >= w.startMinute && minute < w.endMinute;
}
const isExpired = (expiresAt: number, now: number): boolean => now >= expiresAt;

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a node booted in 1970 uses the floor for windows and expiries', async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-floor-win-'));
  let wall = 5_000; // RTC-less boot
  let mono = 0;
  // Hub says it is 2027-03-10 01:30 UTC; the node's newest signed time is a little earlier.
  const hubNow = Date.UTC(2027, 2, 10, 1, 30);
  const floor = await TimeFloor.open(dir, { now: () => wall, monotonic: () => mono, builtInFloorMs: hubNow - 3_600_000, synchronised: () => false });
  await floor.raiseFromHub(hubNow);
  const clock = floor.clock();

  // A 01:00–05:00 UTC install window: the raw clock (00:00:05) says closed, the floor says open.
  const window = { startMinute: 60, endMinute: 300 };
  assert.equal(isWithinDailyWindow(window, wall), false);
  assert.equal(isWithinDailyWindow(window, clock.now()), true);

  // An offer that expired at 2027-01-01 is expired, though the raw clock says 1970.
  const expiresAt = Date.UTC(2027, 0, 1);
  assert.equal(isExpired(expiresAt, wall), false);
  assert.equal(isExpired(expiresAt, clock.now()), true);

  // Four hours later (monotonic), still no NTP: the window has closed by trusted time.
  mono += 4 * 3600_000;
  wall += 4 * 3600_000;
  assert.equal(isWithinDailyWindow(window, clock.now()), false);
  assert.equal(floor.trustedNow().clockBehind, true);
});

test('the real window maths, fed the floor clock, opens the window the raw 1970 clock would miss', async () => {
  const { isOpen } = await import('../../../agent/window/window.ts');
  const d = await mkdtemp(join(tmpdir(), 'outpost-floor-win-'));
  try {
    const mono = 0;
    const floor = await TimeFloor.open(d, { now: () => 5_000, monotonic: () => mono, builtInFloorMs: Date.UTC(2027, 2, 10, 0, 30), synchronised: () => false });
    await floor.raiseFromHub(Date.UTC(2027, 2, 10, 1, 30)); // a Wednesday, 01:30 UTC
    const nightly = [{ cron: '0 1 * * *', durationMinutes: 240, timezone: 'UTC' }];
    assert.equal(isOpen(nightly, 5_000), false, '00:00:05 on 1 Jan 1970 is outside');
    assert.equal(isOpen(nightly, floor.clock().now()), true, 'trusted time is inside');
    assert.equal(floor.trustedNow().clockBehind, true);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
