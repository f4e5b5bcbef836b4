// Wakes the reporter on a cron schedule. A random delay spreads a fleet that shares one
// schedule, so 10,000 nodes do not report in the same second.
import cron from 'node-cron';
import type { InventoryReporter } from './reporter.ts';
import type { Logger } from '../log/logger.ts';

export interface InventorySchedule {
  stop(): Promise<void>;
}

export function scheduleInventory(
  reporter: Pick<InventoryReporter, 'request'>,
  opts: { cron: string; maxRandomDelayMs: number; logger: Logger; signal?: AbortSignal },
): InventorySchedule {
  const task = cron.schedule(
    opts.cron,
    async () => {
      try {
        await reporter.request('schedule');
      } catch (err) {
        opts.logger.warn('scheduled inventory failed', { err: err as Error });
      }
    },
    { name: 'inventory', noOverlap: true, maxRandomDelay: opts.maxRandomDelayMs, timezone: 'Etc/UTC' },
  );
  const stop = async () => {
    await task.destroy();
  };
  opts.signal?.addEventListener('abort', () => void stop(), { once: true });
  return { stop };
}
