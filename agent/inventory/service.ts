// Wiring for app.ts and the CLI: config → collector, reporter (with its ack store) and schedule.
import type { Config } from '../config/load.ts';
import { rootPath, stateDir } from '../config/load.ts';
import type { Clock, CommandRunner } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import { InventoryCollector } from './collector.ts';
import { AckStore } from './ack-store.ts';
import { InventoryReporter, type InventoryReport } from './reporter.ts';
import { scheduleInventory } from './scheduler.ts';
import type { TimeFloor } from '../time/floor.ts';

export interface InventoryDeps {
  runner: CommandRunner;
  logger: Logger;
  slots?: () => Promise<unknown>;
  clock?: Clock;
  /** Reports a system clock behind the trusted floor and stamps collections with trusted time. */
  floor?: TimeFloor;
}

export function createCollector(config: Config, deps: Omit<InventoryDeps, 'logger'>): InventoryCollector {
  const c = config.inventory;
  return new InventoryCollector({
    callTimeoutMs: c.callTimeoutMs,
    scriptsDir: c.scriptsDir === null ? null : rootPath(config, c.scriptsDir),
    scriptTimeoutMs: c.scriptTimeoutMs,
    runner: deps.runner,
    slots: deps.slots,
    clock: deps.clock ?? deps.floor?.clock(),
    trustedTime: deps.floor ? () => deps.floor!.trustedNow() : undefined,
  });
}

export interface InventoryService {
  readonly collector: InventoryCollector;
  readonly reporter: InventoryReporter;
  /** Starts the cron schedule; stops when `signal` aborts. */
  start(signal: AbortSignal): void;
}

export function createInventoryService(config: Config, deps: InventoryDeps & { send: (r: InventoryReport) => Promise<void> }): InventoryService {
  const collector = createCollector(config, deps);
  const logger = deps.logger.child('inventory');
  const reporter = new InventoryReporter({ collect: () => collector.collect(), store: new AckStore(stateDir(config)), send: deps.send, logger });
  return {
    collector,
    reporter,
    start(signal) {
      scheduleInventory(reporter, { cron: config.inventory.schedule, maxRandomDelayMs: config.inventory.randomDelayS * 1000, logger, signal });
    },
  };
}
