// Decides what inventory to send: a full one when the hub holds nothing of ours (or another
// inventory than we think, or asks for it), a diff against what the hub will hold once every
// journaled report arrives when something changed, nothing when nothing did. Reports carry
// `hash` (and diffs `base`), so a hub that lost track detects it and asks for a full one.
// The base the hub ACKNOWLEDGED is kept on disk (AckStore): a restart does not resend.
import type { AckStore, AckedInventory } from './ack-store.ts';
import { applyDiff, diffInventory, isEmptyDiff } from './diff.ts';
import { hashFlat } from './hash.ts';
import type { Inventory, ReportBody } from '../../shared/protocol/messages.ts';
import type { Logger } from '../log/logger.ts';

export type InventoryReport = Extract<ReportBody, { type: 'inventory' }>;

export type InventoryReason = 'connect' | 'schedule' | 'demand';

export interface InventoryReporterOptions {
  /** The inventory in wire form (flat); null: nothing to report now. */
  collect: () => Promise<Inventory | null>;
  store: AckStore;
  /** Journals a report for the hub (its durable outbox); resolves once it is on disk. */
  send: (report: InventoryReport) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

/** Sent but not yet acknowledged inventories kept for markAcknowledged (oldest dropped first). */
const MAX_PENDING = 8;

export class InventoryReporter {
  readonly #o: InventoryReporterOptions;
  #acked: AckedInventory | null | undefined; // undefined: not loaded yet
  /** What the hub holds once everything journaled has arrived; null: use #acked. */
  #lastSent: AckedInventory | null = null;
  /** The journaled chain is broken (unknown base): the next report must be full. */
  #forceFull = false;
  readonly #pending = new Map<string, Inventory>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: InventoryReporterOptions) {
    this.#o = o;
  }

  /** Hash the hub last acknowledged (null: none yet). */
  acknowledgedHash(): Promise<string | null> {
    return this.#serial(async () => (await this.#loadAcked())?.hash ?? null);
  }

  /**
   * Collects and sends what changed. Calls are serialised (schedule, connect and hub demand never
   * race). Returns the report journaled, or null when nothing changed.
   */
  request(reason: InventoryReason, opts: { full?: boolean } = {}): Promise<InventoryReport | null> {
    return this.#serial(() => this.#run(reason, opts.full ?? false));
  }

  /**
   * The hub acknowledged this report (or the report with this hash): it becomes the durable base.
   * Call in journal order. A report journaled before a restart is recognised from its content.
   */
  markAcknowledged(report: InventoryReport | string): Promise<void> {
    return this.#serial(async () => {
      const acked = await this.#loadAcked();
      const r = typeof report === 'string' ? null : report;
      const hash = typeof report === 'string' ? report : report.hash;
      if (!hash) return; // a report from an agent version without hashes: nothing to keep
      let facts = this.#pending.get(hash) ?? null;
      if (!facts && r?.mode === 'full') facts = r.data;
      if (!facts && r?.mode === 'diff' && acked && r.base === acked.hash) facts = applyDiff(acked.facts, r);
      if (!facts || hashFlat(facts) !== hash) {
        this.#o.logger.debug('ack for an inventory not pending', { hash });
        return;
      }
      if (acked?.hash !== hash) await this.#o.store.save({ hash, facts });
      this.#acked = { hash, facts };
      // Everything sent before this one is superseded.
      for (const k of [...this.#pending.keys()]) {
        this.#pending.delete(k);
        if (k === hash) break;
      }
    });
  }

  /**
   * After a restart: the inventory reports still in the outbox (journaled, not acknowledged),
   * oldest first. The next diff then continues their chain instead of repeating them.
   */
  restore(unacked: readonly InventoryReport[]): Promise<void> {
    return this.#serial(async () => {
      let cur = this.#lastSent ?? (await this.#loadAcked());
      for (const r of unacked) {
        const facts = r.mode === 'full' ? r.data : cur && r.base === cur.hash ? applyDiff(cur.facts, r) : null;
        if (!facts || !r.hash || hashFlat(facts) !== r.hash) {
          this.#forceFull = true;
          cur = null;
          continue;
        }
        cur = { hash: r.hash, facts };
        this.#forceFull = false;
        this.#remember(cur);
      }
      this.#lastSent = cur;
    });
  }

  /**
   * The hub said which inventory it holds (auth result, as of its acknowledged reports). When
   * that is not the one we acknowledged, our base is useless: the next report is full.
   * Returns true when hub and node agree.
   */
  hubHolds(hubHash: string | null): Promise<boolean> {
    return this.#serial(async () => {
      const acked = await this.#loadAcked();
      if ((acked?.hash ?? null) === hubHash) return true;
      this.#o.logger.info('the hub holds another inventory than the one it acknowledged; sending a full one', {
        hub: hubHash, acked: acked?.hash ?? null,
      });
      this.#acked = null;
      this.#lastSent = null;
      this.#pending.clear();
      this.#forceFull = true;
      return false;
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #run(reason: InventoryReason, full: boolean): Promise<InventoryReport | null> {
    const facts = await this.#o.collect();
    if (!facts) return null;
    const hash = hashFlat(facts);
    const base = this.#forceFull ? null : (this.#lastSent ?? (await this.#loadAcked()));
    if (!full && base && base.hash === hash) {
      this.#o.logger.debug('inventory unchanged', { reason, hash });
      return null;
    }
    const at = (this.#o.now ?? Date.now)();
    const diff = !full && base ? diffInventory(base.facts, facts) : null;
    // A diff bigger than the whole document is not worth its base check.
    const report: InventoryReport =
      diff && !isEmptyDiff(diff) && JSON.stringify(diff).length < JSON.stringify(facts).length
        ? { type: 'inventory', at, mode: 'diff', base: base!.hash, hash, set: diff.set, unset: diff.unset }
        : { type: 'inventory', at, mode: 'full', hash, data: facts };
    await this.#o.send(report);
    this.#lastSent = { hash, facts };
    this.#forceFull = false;
    this.#remember(this.#lastSent);
    this.#o.logger.info('inventory report', { reason, mode: report.mode, hash });
    return report;
  }

  #remember(a: AckedInventory): void {
    this.#pending.delete(a.hash);
    this.#pending.set(a.hash, a.facts);
    while (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
  }

  async #loadAcked(): Promise<AckedInventory | null> {
    if (this.#acked === undefined) this.#acked = await this.#o.store.load();
    return this.#acked;
  }
}
