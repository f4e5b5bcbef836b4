// Decides what to send: a full inventory when the hub has nothing from us (or asks for it), a
// diff against the last inventory we sent when something changed, nothing when nothing did.
// Diffs carry `base` (hash the hub must hold) and `hash` (after applying), so a hub that lost
// track detects it and asks for a full report (`request({ full: true })`).
import { AckStore, type AckedInventory } from './ack-store.ts';
import { diffInventory, isEmptyDiff } from './diff.ts';
import { factsOf, hashInventory } from './hash.ts';
import { canonicalJson } from './canonical-json.ts';
import type { Inventory, InventoryDiff, JsonObject } from './types.ts';
import type { Logger } from '../log/logger.ts';

export type InventoryReport =
  | { type: 'inventory.full'; hash: string; inventory: JsonObject; volatile: JsonObject }
  | ({ type: 'inventory.diff'; base: string; hash: string; volatile: JsonObject } & InventoryDiff);

export type InventoryReason = 'connect' | 'schedule' | 'demand';

export interface InventoryReporterOptions {
  collect: () => Promise<Inventory>;
  store: AckStore;
  /** Hands a report to the hub link (its durable outbox). */
  send: (report: InventoryReport) => Promise<void>;
  logger: Logger;
}

/** Sent but not yet acknowledged inventories kept for markAcknowledged (oldest dropped first). */
const MAX_PENDING = 8;

export class InventoryReporter {
  readonly #o: InventoryReporterOptions;
  #acked: AckedInventory | null | undefined; // undefined: not loaded yet
  #lastSent: AckedInventory | null = null;
  readonly #pending = new Map<string, JsonObject>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: InventoryReporterOptions) {
    this.#o = o;
  }

  /** Hash the hub last acknowledged (null: none yet). */
  async acknowledgedHash(): Promise<string | null> {
    return (await this.#loadAcked())?.hash ?? null;
  }

  /**
   * Collects and sends what changed. Calls are serialised (schedule and hub demand never race).
   * Returns the report sent, or null when nothing changed.
   */
  request(reason: InventoryReason, opts: { full?: boolean } = {}): Promise<InventoryReport | null> {
    const run = this.#queue.then(() => this.#run(reason, opts.full ?? false));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The hub acknowledged the report with this hash: it becomes the durable base. */
  markAcknowledged(hash: string): Promise<void> {
    const run = this.#queue.then(async () => {
      const facts = this.#pending.get(hash);
      if (!facts) {
        this.#o.logger.debug('ack for an inventory not pending', { hash });
        return;
      }
      await this.#o.store.save({ hash, facts });
      this.#acked = { hash, facts };
      // Everything sent before this one is superseded.
      for (const k of [...this.#pending.keys()]) {
        this.#pending.delete(k);
        if (k === hash) break;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #run(reason: InventoryReason, full: boolean): Promise<InventoryReport | null> {
    const inv = await this.#o.collect();
    const facts = factsOf(inv);
    const hash = hashInventory(facts);
    const base = this.#lastSent ?? (await this.#loadAcked());
    let report: InventoryReport;
    if (!full && base && base.hash === hash) {
      this.#o.logger.debug('inventory unchanged', { reason, hash });
      return null;
    }
    const diff = !full && base ? diffInventory(base.facts, facts) : null;
    if (diff && !isEmptyDiff(diff) && canonicalJson(diff).length < canonicalJson(facts).length) {
      report = { type: 'inventory.diff', base: base!.hash, hash, set: diff.set, removed: diff.removed, volatile: inv.volatile };
    } else {
      report = { type: 'inventory.full', hash, inventory: facts, volatile: inv.volatile };
    }
    await this.#o.send(report);
    this.#lastSent = { hash, facts };
    this.#pending.delete(hash);
    this.#pending.set(hash, facts);
    while (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
    this.#o.logger.info('inventory report', { reason, type: report.type, hash });
    return report;
  }

  async #loadAcked(): Promise<AckedInventory | null> {
    if (this.#acked === undefined) this.#acked = await this.#o.store.load();
    return this.#acked;
  }
}
