import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleInventory } from '../../../agent/inventory/scheduler.ts';
import { silentLogger } from '../../../agent/log/logger.ts';

test('the cron schedule wakes the reporter and stops on abort', async () => {
  const ac = new AbortController();
  const reasons: string[] = [];
  let woke!: () => void;
  const fired = new Promise<void>((r) => (woke = r));
  const reporter = {
    request: async (reason: 'connect' | 'schedule' | 'demand') => {
      reasons.push(reason);
      woke();
      return null;
    },
  };
  // Every second (6-field cron), no random delay.
  scheduleInventory(reporter, { cron: '* * * * * *', maxRandomDelayMs: 0, logger: silentLogger(), signal: ac.signal });
  await fired;
  ac.abort();
  assert.equal(reasons[0], 'schedule');
  // The test process exits by itself only if the task released its timers.
});
