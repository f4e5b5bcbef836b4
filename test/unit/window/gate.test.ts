// The download gate against an injected clock: waits for the window, aborts a session at close,
// follows per-window rates, pauses on a spent budget until the next period, and can be overridden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadGate } from '../../../agent/fetch/download-gate.ts';
import { ByteBudget } from '../../../agent/fetch/byte-budget.ts';
import { VirtualClock, settle } from './virtual-clock.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const Z = (s: string) => Date.parse(s + 'Z');
// 02:00–03:00 Berlin (CET in November = 01:00–02:00Z), 1 MB/s; plus 02:30–04:00 Berlin at 4 MB/s.
const windows = [
  { cron: '0 2 * * *', durationMinutes: 60, timezone: 'Europe/Berlin', maxBytesPerSecond: 1_000_000 },
  { cron: '30 2 * * *', durationMinutes: 90, timezone: 'Europe/Berlin', maxBytesPerSecond: 4_000_000 },
];

test('waitOpen sleeps until the window opens; the session aborts at close with E_WINDOW_CLOSED', async () => {
  const clock = new VirtualClock(Z('2026-11-21T23:30'));
  const gate = new DownloadGate({ windows, maxBytesPerSecond: null, budget: null, now: clock.now, sleep: clock.sleep });
  assert.deepEqual(gate.status(), { open: false, reason: 'window', until: Z('2026-11-22T01:00'), rate: 0 });
  let opened = false;
  const waiting = gate.waitOpen(AbortSignal.timeout(10_000)).then(() => (opened = true));
  await clock.advanceTo(Z('2026-11-22T00:59:59'));
  assert.equal(opened, false);
  await clock.advanceTo(Z('2026-11-22T01:00'));
  await waiting;
  assert.equal(gate.throttle.rate, 1_000_000);

  const session = gate.session(AbortSignal.timeout(10_000));
  await clock.advanceTo(Z('2026-11-22T01:29'));
  assert.equal(gate.throttle.rate, 1_000_000);
  await clock.advanceTo(Z('2026-11-22T01:30'));
  assert.equal(gate.throttle.rate, 4_000_000, 'the overlapping faster window takes over');
  await clock.advanceTo(Z('2026-11-22T02:59'));
  assert.equal(session.signal.aborted, false, 'merged windows keep the session open');
  await clock.advanceTo(Z('2026-11-22T03:00'));
  assert.equal(session.signal.aborted, true);
  assert.ok(isOutpostError(session.signal.reason, 'E_WINDOW_CLOSED'));
  session.end();
  assert.deepEqual(gate.status(), { open: false, reason: 'window', until: Z('2026-11-23T01:00'), rate: 0 });
});

test('"download now" override opens a closed gate at once and wakes a waiter', async () => {
  const clock = new VirtualClock(Z('2026-11-21T12:00'));
  const gate = new DownloadGate({ windows, maxBytesPerSecond: 500_000, budget: null, now: clock.now, sleep: clock.sleep });
  let opened = false;
  const waiting = gate.waitOpen(AbortSignal.timeout(10_000)).then(() => (opened = true));
  await settle();
  assert.equal(opened, false);
  gate.setOverride(Z('2026-11-21T13:00'));
  await waiting;
  assert.equal(gate.throttle.rate, 500_000, 'the global cap still applies');
  const session = gate.session(AbortSignal.timeout(10_000));
  await clock.advanceTo(Z('2026-11-21T12:59'));
  assert.equal(session.signal.aborted, false);
  await clock.advanceTo(Z('2026-11-21T13:00'));
  assert.ok(isOutpostError(session.signal.reason, 'E_WINDOW_CLOSED'), 'override expired: back to the windows');
  session.end();
});

test('a spent daily budget aborts the session with E_BUDGET_SPENT and reopens at local midnight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-budget-'));
  try {
    const clock = new VirtualClock(Z('2026-11-21T10:00'));
    const file = join(dir, 'budget.json');
    const budget = await ByteBudget.open(file, { dailyBytes: 10_000_000, monthlyBytes: null, timezone: 'Europe/Berlin' }, clock.now, 1_000_000);
    const gate = new DownloadGate({ windows: [], maxBytesPerSecond: null, budget, now: clock.now, sleep: clock.sleep });
    await gate.waitOpen(AbortSignal.timeout(10_000));
    const session = gate.session(AbortSignal.timeout(10_000));
    for (let i = 0; i < 9; i++) gate.charge(1_000_000);
    assert.equal(session.signal.aborted, false);
    gate.charge(1_000_000);
    assert.ok(isOutpostError(session.signal.reason, 'E_BUDGET_SPENT'));
    session.end();
    // Midnight in Berlin is 23:00Z.
    assert.deepEqual(gate.status(), { open: false, reason: 'budget', until: Z('2026-11-21T23:00'), rate: 0 });
    await budget.flush();
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).dayBytes, 10_000_000);
    let opened = false;
    const waiting = gate.waitOpen(AbortSignal.timeout(10_000)).then(() => (opened = true));
    await clock.advanceTo(Z('2026-11-21T22:59'));
    assert.equal(opened, false);
    await clock.advanceTo(Z('2026-11-21T23:00'));
    await waiting;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('budget file: lazily written with a reservation so a crash never under-counts; periods roll over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-budget-'));
  try {
    let now = Z('2026-11-30T12:00');
    const file = join(dir, 'budget.json');
    const limits = { dailyBytes: null, monthlyBytes: 50_000_000, timezone: 'UTC' };
    const b = await ByteBudget.open(file, limits, () => now, 4_000_000);
    b.charge(1000);
    await b.written();
    const disk = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(disk.monthBytes, 4_001_000, 'reserved ahead of the real count');
    b.charge(1_000_000); // within the reservation: no write needed
    // "Crash" here: a new instance reads the reserved figure — more than spent, never less.
    const after = await ByteBudget.open(file, limits, () => now);
    assert.ok(after.status().monthBytes >= 1_001_000);
    await b.flush();
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).monthBytes, 1_001_000);
    now = Z('2026-12-01T00:00');
    assert.equal(b.status().monthBytes, 0);
    assert.equal(b.status().remaining, 50_000_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
