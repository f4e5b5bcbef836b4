import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../agent/config/load.ts';
import { proxyEnvironment } from '../../../agent/config/sections/fetch.ts';
import { proxyFor } from '../../../agent/fetch/from-config.ts';
import { isOutpostError } from '../../../shared/errors.ts';

test('fetch defaults: no windows, no caps, public CAs, bounded retries', () => {
  const f = parseConfig({}).fetch;
  assert.deepEqual(f.windows, []);
  assert.equal(f.maxBytesPerSecond, null);
  assert.equal(f.publicCas, true);
  assert.equal(f.retryMaxAttempts, 10);
  assert.equal(f.readDeadlineSeconds, 30);
});

test('windows are validated with the window parser and frozen', () => {
  const f = parseConfig({
    fetch: {
      windows: [{ cron: '0 1 * * *', durationMinutes: 240, timezone: 'Europe/Berlin', maxBytesPerSecond: 2_000_000 }, { cron: '@hourly', durationMinutes: 5 }],
      installWindows: [{ cron: '0 3 * * sun', durationMinutes: 60, timezone: 'Europe/Berlin' }],
      dailyByteBudget: 1e9,
    },
  }).fetch;
  assert.equal(f.windows.length, 2);
  assert.equal(f.windows[1]!.timezone, 'UTC');
  assert.equal(f.windows[1]!.maxBytesPerSecond, null);
  assert.ok(Object.isFrozen(f.windows) && Object.isFrozen(f.windows[0]));
  assert.equal(f.dailyByteBudget, 1e9);
});

test('bad windows and values fail with E_CONFIG naming the key', () => {
  const bad = [
    { windows: [{ cron: '0 25 * * *', durationMinutes: 5 }] },
    { windows: [{ cron: '0 1 * * *', durationMinutes: 0 }] },
    { windows: [{ cron: '0 1 * * *', durationMinutes: 5, timezone: 'Nowhere/Here' }] },
    { windows: [{ cron: '0 1 * * *', durationMinutes: 5, rate: 1 }] },
    { installWindows: [{ cron: '0 1 * * *', durationMinutes: 5, maxBytesPerSecond: 1 }] },
    { maxBytesPerSecond: -1 },
    { budgetTimezone: 'Mars/Base' },
    { retryMaxAttempts: 0 },
  ];
  for (const fetch of bad) {
    assert.throws(() => parseConfig({ fetch }), (e) => isOutpostError(e, 'E_CONFIG') && /config fetch\./.test(e.message), JSON.stringify(fetch));
  }
});

test('proxy: config wins, "direct" disables, else the environment by URL scheme', () => {
  const env = proxyEnvironment({ https_proxy: 'http://p1:3128', HTTP_PROXY: 'http://p2:3128', NO_PROXY: 'internal' });
  assert.deepEqual(env, { httpsProxy: 'http://p1:3128', httpProxy: 'http://p2:3128', noProxy: 'internal' });
  const base = parseConfig({}).fetch;
  assert.equal(proxyFor('https://x/b', base, env), 'http://p1:3128');
  assert.equal(proxyFor('http://x/b', base, env), 'http://p2:3128');
  assert.equal(proxyFor('https://x/b', parseConfig({ fetch: { proxy: 'direct' } }).fetch, env), null);
  assert.equal(proxyFor('https://x/b', parseConfig({ fetch: { proxy: 'http://mine:8080' } }).fetch, env), 'http://mine:8080');
});
