// Wiring for app.ts and the CLI: config → collector, and the collector's document in wire form.
import type { Config } from '../config/load.ts';
import { rootPath } from '../config/load.ts';
import type { Clock, CommandRunner } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import { InventoryCollector } from './collector.ts';
import { wireInventory } from './hash.ts';
import type { Inventory as FlatInventory } from '../../shared/protocol/messages.ts';
import type { TimeFloor } from '../time/floor.ts';

export interface InventoryDeps {
  runner: CommandRunner;
  logger: Logger;
  slots?: () => Promise<unknown>;
  clock?: Clock;
  /** Reports a system clock behind the trusted floor and stamps collections with trusted time. */
  timeFloor?: TimeFloor;
}

export function createCollector(config: Config, deps: Omit<InventoryDeps, 'logger'>): InventoryCollector {
  const c = config.inventory;
  return new InventoryCollector({
    callTimeoutMs: c.callTimeoutMs,
    scriptsDir: c.scriptsDir === null ? null : rootPath(config, c.scriptsDir),
    scriptTimeoutMs: c.scriptTimeoutMs,
    runner: deps.runner,
    slots: deps.slots,
    clock: deps.clock ?? deps.timeFloor?.clock(),
    trustedTime: deps.timeFloor ? () => deps.timeFloor!.trustedNow() : undefined,
  });
}

/**
 * What the hub link reports: the collector's facts in wire form (flat, without `volatile`). The
 * hub client diffs, hashes and journals it (agent/inventory/reporter.ts).
 */
export function wireSource(collector: InventoryCollector): () => Promise<FlatInventory> {
  return async () => wireInventory(await collector.collect());
}
