import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOpen, nextOpen, windowStatus, rateAt, nextChange, nextStart, lastStart, compileWindow } from '../../../agent/window/window.ts';
import { parseCron } from '../../../agent/window/cron.ts';
import { checkTimeZone, toInstant, wallTime } from '../../../agent/window/tz.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const Z = (s: string) => Date.parse(s.endsWith('Z') ? s : s + 'Z');
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString().replace('.000', ''));

test('cron parser: lists, ranges, steps, names, macros and the day-of-month/weekday OR rule', () => {
  const c = parseCron('*/20 1-3,22 * jan-mar mon-fri');
  assert.deepEqual(c.minutes, [0, 20, 40]);
  assert.deepEqual(c.hours, [1, 2, 3, 22]);
  assert.deepEqual([...c.months].sort(), [1, 2, 3]);
  assert.deepEqual([...c.weekdays].sort(), [1, 2, 3, 4, 5]);
  assert.equal(c.dayOr, false);
  assert.equal(parseCron('0 0 1 * 7').dayOr, true);
  assert.deepEqual([...parseCron('0 0 1 * 7').weekdays], [0]);
  assert.deepEqual(parseCron('5/15 * * * *').minutes, [5, 20, 35, 50]);
  assert.deepEqual(parseCron('@daily').hours, [0]);
  for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '*/0 * * * *', '5-1 * * * *', 'x * * * *', '* * * * * *']) {
    assert.throws(() => parseCron(bad), (e) => isOutpostError(e, 'E_WINDOW_CRON'), bad);
  }
});

test('a daily UTC window is open inside [start, start+duration) and closed outside', () => {
  const w = [{ cron: '0 2 * * *', durationMinutes: 90, timezone: 'UTC' }];
  assert.equal(isOpen(w, Z('2026-05-10T01:59:59')), false);
  assert.equal(isOpen(w, Z('2026-05-10T02:00:00')), true);
  assert.equal(isOpen(w, Z('2026-05-10T03:29:59')), true);
  assert.equal(isOpen(w, Z('2026-05-10T03:30:00')), false);
  assert.deepEqual(windowStatus(w, Z('2026-05-10T02:10')), { open: true, until: Z('2026-05-10T03:30') });
  assert.deepEqual(windowStatus(w, Z('2026-05-10T03:30')), { open: false, until: Z('2026-05-11T02:00') });
  assert.equal(nextOpen(w, Z('2026-05-10T01:00')), Z('2026-05-10T02:00'));
});

test('no windows means always open and uncapped', () => {
  assert.deepEqual(windowStatus([], 0), { open: true, until: null });
  assert.equal(rateAt([], 0), null);
  assert.equal(rateAt([], 0, 1000), 1000);
});

test('a window that spans midnight is open after midnight', () => {
  const w = [{ cron: '0 23 * * *', durationMinutes: 240, timezone: 'UTC' }];
  assert.equal(isOpen(w, Z('2026-05-11T02:00')), true);
  assert.deepEqual(windowStatus(w, Z('2026-05-11T02:00')), { open: true, until: Z('2026-05-11T03:00') });
});

test('wall-clock windows follow the zone: Berlin 02:00 is 00:00Z in summer and 01:00Z in winter', () => {
  const w = { cron: '0 2 * * *', durationMinutes: 60, timezone: 'Europe/Berlin' };
  assert.equal(iso(nextStart(w, Z('2026-07-01T12:00'))), '2026-07-02T00:00:00Z');
  assert.equal(iso(nextStart(w, Z('2026-12-01T12:00'))), '2026-12-02T01:00:00Z');
});

test('Berlin spring forward (2026-03-29): a start at skipped 02:30 runs at 03:30 CEST, once', () => {
  const w = { cron: '30 2 * * *', durationMinutes: 30, timezone: 'Europe/Berlin' };
  assert.equal(iso(nextStart(w, Z('2026-03-28T12:00'))), '2026-03-29T01:30:00Z'); // 03:30 CEST
  assert.equal(iso(nextStart(w, Z('2026-03-29T01:30'))), '2026-03-30T00:30:00Z'); // 02:30 CEST
  assert.equal(iso(lastStart(w, Z('2026-03-29T01:29'))), '2026-03-28T01:30:00Z'); // 02:30 CET
  assert.equal(toInstant('Europe/Berlin', Z('2026-03-29T02:30')), Z('2026-03-29T01:30'));
});

test('Berlin spring forward: duration is real elapsed time across the jump', () => {
  // 01:00 CET + 3 h = 05:00 CEST (the clock skipped an hour), not 04:00.
  const w = [{ cron: '0 1 * * *', durationMinutes: 180, timezone: 'Europe/Berlin' }];
  assert.deepEqual(windowStatus(w, Z('2026-03-29T00:30')), { open: true, until: Z('2026-03-29T03:00') });
});

test('Berlin fall back (2026-10-25): an ambiguous 02:30 start happens once, at the first 02:30', () => {
  const w = [{ cron: '30 2 * * *', durationMinutes: 30, timezone: 'Europe/Berlin' }];
  assert.equal(iso(nextStart(w[0]!, Z('2026-10-24T12:00'))), '2026-10-25T00:30:00Z'); // 02:30 CEST
  assert.equal(isOpen(w, Z('2026-10-25T00:45')), true);
  assert.equal(isOpen(w, Z('2026-10-25T01:45')), false); // 02:45 CET, the second pass
  assert.equal(iso(nextStart(w[0]!, Z('2026-10-25T00:30'))), '2026-10-26T01:30:00Z'); // 02:30 CET
});

test('US zone DST (America/New_York 2026-03-08): 02:15 does not exist and runs at 03:15 EDT', () => {
  const w = { cron: '15 2 * * *', durationMinutes: 10, timezone: 'America/New_York' };
  assert.equal(iso(nextStart(w, Z('2026-03-08T00:00'))), '2026-03-08T07:15:00Z');
});

test('overlapping and touching windows merge into one open period', () => {
  const w = [
    { cron: '0 1 * * *', durationMinutes: 120, timezone: 'UTC' }, // 01:00–03:00
    { cron: '0 2 * * *', durationMinutes: 120, timezone: 'UTC' }, // 02:00–04:00
    { cron: '0 4 * * *', durationMinutes: 30, timezone: 'UTC' }, // touches: 04:00–04:30
    { cron: '0 6 * * *', durationMinutes: 30, timezone: 'UTC' }, // separate
  ];
  assert.deepEqual(windowStatus(w, Z('2026-05-10T01:30')), { open: true, until: Z('2026-05-10T04:30') });
  assert.deepEqual(windowStatus(w, Z('2026-05-10T04:30')), { open: false, until: Z('2026-05-10T06:00') });
  assert.equal(nextChange(w, Z('2026-05-10T01:30')), Z('2026-05-10T02:00'));
});

test('windows in different zones merge too', () => {
  const w = [
    { cron: '0 22 * * *', durationMinutes: 120, timezone: 'UTC' }, // 22:00–24:00Z
    { cron: '0 1 * * *', durationMinutes: 60, timezone: 'Europe/Berlin' }, // 01:00 CEST = 23:00Z – 00:00Z
    { cron: '0 2 * * *', durationMinutes: 60, timezone: 'Europe/Berlin' }, // 00:00Z – 01:00Z (touches)
  ];
  assert.deepEqual(windowStatus(w, Z('2026-06-01T22:30')), { open: true, until: Z('2026-06-02T01:00') });
});

test('a window that is always open never closes (until = null)', () => {
  const w = [{ cron: '0 * * * *', durationMinutes: 60, timezone: 'UTC' }];
  assert.deepEqual(windowStatus(w, Z('2026-05-10T01:30')), { open: true, until: null });
});

test('rate: most generous open window, capped by the global limit; closed is 0', () => {
  const w = [
    { cron: '0 1 * * *', durationMinutes: 120, timezone: 'UTC', maxBytesPerSecond: 1000 },
    { cron: '0 2 * * *', durationMinutes: 120, timezone: 'UTC', maxBytesPerSecond: 5000 },
    { cron: '0 10 * * *', durationMinutes: 60, timezone: 'UTC' },
  ];
  assert.equal(rateAt(w, Z('2026-05-10T01:30')), 1000);
  assert.equal(rateAt(w, Z('2026-05-10T02:30')), 5000);
  assert.equal(rateAt(w, Z('2026-05-10T02:30'), 3000), 3000);
  assert.equal(rateAt(w, Z('2026-05-10T10:30')), null);
  assert.equal(rateAt(w, Z('2026-05-10T10:30'), 3000), 3000);
  assert.equal(rateAt(w, Z('2026-05-10T08:00')), 0);
});

test('weekly install window: Sunday 03:00 local', () => {
  const w = [{ cron: '0 3 * * sun', durationMinutes: 60, timezone: 'Europe/Berlin' }];
  // Saturday 2026-11-21 → Sunday 2026-11-22 03:00 CET = 02:00Z
  assert.deepEqual(windowStatus(w, Z('2026-11-21T14:00')), { open: false, until: Z('2026-11-22T02:00') });
});

test('an impossible date never opens; bad specs are rejected with stable codes', () => {
  assert.equal(nextOpen([{ cron: '0 0 30 2 *', durationMinutes: 5, timezone: 'UTC' }], Z('2026-01-01T00:00')), null);
  assert.equal(iso(nextStart({ cron: '0 0 29 2 *', durationMinutes: 5, timezone: 'UTC' }, Z('2026-01-01T00:00'))), '2028-02-29T00:00:00Z');
  assert.throws(() => compileWindow({ cron: '0 0 * * *', durationMinutes: 0, timezone: 'UTC' }), (e) => isOutpostError(e, 'E_WINDOW_DURATION'));
  assert.throws(() => compileWindow({ cron: '0 0 * * *', durationMinutes: 5, timezone: 'Mars/Olympus' }), (e) => isOutpostError(e, 'E_WINDOW_TIMEZONE'));
});

// Regression: windowStatus merged 57,600 one-minute periods one by one (over 20 s of CPU, the
// agent's event loop blocked and a config.push went unacknowledged). The timeout is a hang guard.
test('an "always" window (every minute for a minute) does not block: open, no close in sight', { timeout: 10_000 }, () => {
  const always = [{ cron: '* * * * *', durationMinutes: 1, timezone: 'UTC' }];
  const t = Date.parse('2026-11-21T14:40:30Z');
  for (let i = 0; i < 5; i++) assert.deepEqual(windowStatus(always, t + i * 3_600_000), { open: true, until: null });
  assert.equal(nextChange(always, t), Date.parse('2026-11-21T14:41:00Z'));
});

test('UTC, computed without ICU, reads the same wall clock as a UTC zone through Intl', () => {
  // Etc/GMT is UTC through ICU's tables; UTC and Etc/UTC take the arithmetic shortcut.
  for (let k = 0; k < 2000; k++) {
    const t = Math.round((k * 7919.31 - 1000) * 3_600_123.7) + (k % 1000);
    for (const tz of ['UTC', 'Etc/UTC']) {
      assert.equal(wallTime(tz, t), wallTime('Etc/GMT', t), `${tz} at ${t}`);
      assert.equal(toInstant(tz, t), toInstant('Etc/GMT', t), `${tz} local ${t}`);
    }
  }
});

test('time zones: canonical names, aliases and UTC are accepted, anything else is E_WINDOW_TIMEZONE', () => {
  for (const tz of ['Europe/Berlin', 'America/New_York', 'US/Eastern', 'Etc/GMT+5', 'UTC', 'Etc/UTC', 'utc']) assert.doesNotThrow(() => checkTimeZone(tz), tz);
  for (const tz of ['Nowhere/Here', 'Europe/Berlinn', '', 'UTC+1']) assert.throws(() => checkTimeZone(tz), (e) => isOutpostError(e, 'E_WINDOW_TIMEZONE'), tz);
});
