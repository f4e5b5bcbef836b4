// Regression: a push (or offer) with a window that never opens, a window open too briefly to
// download or install, or a 1 s health-check timeout was accepted (downloads parked forever,
// good updates rolled back). Now refused with a code before anything is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPushSanity, checkWindowSanity, SANITY } from '../../../agent/hub/push-sanity.ts';
import { CommandDispatcher } from '../../../agent/hub/commands.ts';
import { CommandLedger } from '../../../agent/hub/command-ledger.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { PushedConfig } from '../../../shared/protocol/messages.ts';

const NOW = Date.UTC(2026, 11, 6, 10, 0);
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;

test('windows: never opening, too short and fine', () => {
  // 31 February never comes; 29 February is more than 366 days away from December 2026.
  assert.throws(() => checkWindowSanity([{ cron: '0 0 31 2 *', durationMinutes: 60, timezone: 'UTC' }], 'windows', NOW), code('E_WINDOW_NEVER_OPENS'));
  assert.throws(() => checkWindowSanity([{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'UTC' }, { cron: '0 0 29 2 *', durationMinutes: 60, timezone: 'UTC' }], 'installWindows', NOW),
    (err: Error & { code?: string }) => err.code === 'E_WINDOW_NEVER_OPENS' && err.message.startsWith('installWindows[1]'));
  assert.throws(() => checkWindowSanity([{ cron: '0 1 * * *', durationMinutes: 2, timezone: 'UTC' }], 'windows', NOW), code('E_WINDOW_TOO_SHORT'));
  assert.throws(() => checkWindowSanity([{ cron: '0 0 1 1 *', durationMinutes: 1, timezone: 'UTC' }], 'windows', NOW), code('E_WINDOW_TOO_SHORT'));
  // Short windows that touch merge into one long period: fine.
  checkWindowSanity([{ cron: '* * * * *', durationMinutes: 1, timezone: 'UTC' }], 'windows', NOW);
  checkWindowSanity([{ cron: '0 1 * * *', durationMinutes: 6, timezone: 'UTC' }, { cron: '5 1 * * *', durationMinutes: 6, timezone: 'UTC' }], 'windows', NOW);
  checkWindowSanity([{ cron: '0 3 * * sun', durationMinutes: SANITY.minOpenMinutes, timezone: 'Europe/Berlin' }], 'installWindows', NOW);
  checkWindowSanity([], 'windows', NOW);
  assert.throws(() => checkWindowSanity([{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'Mars/Olympus' }], 'windows', NOW), code('E_WINDOW_TIMEZONE'));
});

test('health-check timeouts below the floor are refused', () => {
  assert.throws(() => checkPushSanity({ healthChecks: [{ name: 'app', timeoutS: 1 }] }, NOW), code('E_PUSH_HEALTH_CHECK'));
  checkPushSanity({ healthChecks: [{ name: 'app', timeoutS: SANITY.minHealthTimeoutS }, { name: 'hub-reachable' }] }, NOW);
});

test('a refused push is acked with its code and never stored; a refused offer never reaches the update service', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'push-sanity-'));
  try {
    const stored: PushedConfig[] = [];
    const offered: string[] = [];
    const d = new CommandDispatcher({
      ledger: await CommandLedger.open(dir, silentLogger()),
      update: { offer: async (o) => (offered.push(o.deploymentId), { result: 'accepted' }), cancel: async () => false, status: () => null, onEvent: () => () => {} },
      rebooter: null, refreshInventory: async () => {}, report: async () => {}, log: silentLogger(),
      onConfig: async (c) => void stored.push(c),
      now: () => NOW,
    });
    const never = { cron: '0 0 30 2 *', durationMinutes: 600, timezone: 'UTC' };
    const push = await d.handle({ v: 1, type: 'config.push', id: 'p-1', config: { windows: [never] } });
    assert.deepEqual([push.result, push.code], ['rejected', 'E_WINDOW_NEVER_OPENS']);
    const slow = await d.handle({ v: 1, type: 'config.push', id: 'p-2', config: { healthChecks: [{ name: 'app', timeoutS: 1 }] } });
    assert.deepEqual([slow.result, slow.code], ['rejected', 'E_PUSH_HEALTH_CHECK']);
    assert.deepEqual(stored, []);
    const offer = await d.handle({
      v: 1, type: 'offer', id: 'o-1', deploymentId: 'd-1', version: '2', release: '2',
      bundle: { url: 'https://hub.example/b', size: 1, manifestSha256: 'a'.repeat(64) }, installWindows: [{ cron: '0 3 * * *', durationMinutes: 1, timezone: 'UTC' }],
    });
    assert.deepEqual([offer.result, offer.code], ['rejected', 'E_WINDOW_TOO_SHORT']);
    assert.deepEqual(offered, []);
    await assert.rejects(stat(join(dir, 'hub-config.json')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
