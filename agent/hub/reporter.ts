// Turns what happens on the node into journaled reports: update events as they come (progress
// throttled, state and outcome always) and location on a timer (the first fix as soon as the
// source has one). Inventory is decided by the
// inventory reporter (full, diff with base hash, or nothing; agent/inventory/reporter.ts): this
// class only wakes it on the optional hub-pushed interval and on demand. Everything goes through
// the outbox; nothing is sent directly.
import type { ReportBody } from '../../shared/protocol/messages.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { Logger } from '../log/logger.ts';
import type { ReportSource, UpdateReport, UpdatePort } from './ports.ts';
import { hubLog, hubMessage } from './redact.ts';

/** The inventory reporter as this class needs it. */
export interface InventoryRequester {
  request(reason: 'connect' | 'schedule' | 'demand', opts?: { full?: boolean }): Promise<unknown>;
}

export interface ReporterDeps {
  append: (body: ReportBody) => Promise<unknown>;
  source: ReportSource | null;
  inventory: InventoryRequester | null;
  update: UpdatePort | null;
  log: Logger;
  /** 0: no timer of our own (an external schedule calls checkInventory()). */
  inventoryIntervalS: number;
  locationIntervalS: number;
  /** Progress of one deployment is journaled at most this often (phase changes always). */
  progressEveryMs?: number;
  now?: () => number;
}

export function reportOf(e: UpdateReport, at: number): ReportBody {
  switch (e.type) {
    case 'progress':
      return { type: 'update.progress', at, deploymentId: e.deploymentId, phase: e.phase, done: e.done, total: e.total, ...(e.transfer ? { transfer: e.transfer } : {}) };
    case 'state': {
      // Failures from what a hub-chosen URL served go out as code + fixed text (agent/hub/redact.ts).
      const message = hubMessage(e.code, e.message);
      return {
        type: 'update.state', at, deploymentId: e.deploymentId, state: e.state,
        ...(e.code ? { code: e.code } : {}), ...(message !== undefined ? { message: message.slice(0, LIMITS.text) } : {}),
      };
    }
    case 'outcome': {
      const message = hubMessage(e.code, e.message);
      const log = hubLog(e.log, e.code);
      // Keep the end of the log: that is where the reason for a rollback is.
      return {
        type: 'update.outcome', at, deploymentId: e.deploymentId, result: e.result,
        ...(e.version ? { version: e.version } : {}), ...(e.code ? { code: e.code } : {}),
        ...(message !== undefined ? { message: message.slice(0, LIMITS.text) } : {}),
        log: log.length > LIMITS.log ? log.slice(-LIMITS.log) : log,
      };
    }
  }
}

export class Reporter {
  #d: ReporterDeps;
  #now: () => number;
  #lastProgress = new Map<string, { at: number; phase: string }>();
  #timers: NodeJS.Timeout[] = [];
  #signal: AbortSignal | null = null;
  #intervals: { inventoryS: number; locationS: number };
  /** Until the first fix is journaled, the source is asked again after 1, 2, 4 … s (capped by
   * the interval): a surveyed location known a moment after start must not wait a whole interval. */
  #locationSent = false;
  /** The refresh in progress, which later refreshes join. */
  #refresh: Promise<void> | null = null;
  #firstLocationDelayS = 1;

  constructor(deps: ReporterDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#intervals = { inventoryS: deps.inventoryIntervalS, locationS: deps.locationIntervalS };
  }

  start(signal: AbortSignal): void {
    this.#signal = signal;
    const off = this.#d.update?.onEvent((e) => this.#onUpdate(e));
    signal.addEventListener('abort', () => {
      off?.();
      for (const t of this.#timers) clearTimeout(t);
    }, { once: true });
    // The first inventory goes out when the hub link authenticates (it says what it holds).
    this.#schedule();
    void this.#locationTick();
  }

  /** Hub-pushed report intervals take effect from the next tick. */
  setIntervals(i: { inventoryS?: number; locationS?: number }): void {
    this.#intervals = { inventoryS: i.inventoryS ?? this.#intervals.inventoryS, locationS: i.locationS ?? this.#intervals.locationS };
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    if (this.#signal && !this.#signal.aborted) this.#schedule();
  }

  /**
   * Sends a full inventory now (hub "inventory.refresh"); rejects when it cannot. Coalesced: a
   * refresh asked for while one is queued or running joins it (one collection, scripts run once).
   */
  refreshInventory(): Promise<void> {
    if (this.#refresh) return this.#refresh;
    const run = (async () => void (await this.#d.inventory?.request('demand', { full: true })))();
    this.#refresh = run;
    const done = () => {
      if (this.#refresh === run) this.#refresh = null;
    };
    run.then(done, done);
    return run;
  }

  /** Collects now and sends a diff if anything changed (the inventory cron schedule calls this). */
  checkInventory(): Promise<void> {
    return this.#inventoryTick();
  }

  #schedule(): void {
    const loop = (everyS: () => number, tick: () => Promise<void>) => {
      const t = setTimeout(async () => {
        await tick();
        if (!this.#signal?.aborted) loop(everyS, tick);
      }, everyS() * 1000);
      t.unref();
      this.#timers.push(t);
    };
    const inventoryS = this.#intervals.inventoryS;
    if (inventoryS > 0) loop(() => inventoryS, () => this.#inventoryTick());
    const locationS = this.#intervals.locationS;
    loop(() => {
      if (this.#locationSent) return locationS;
      const first = Math.min(this.#firstLocationDelayS, locationS);
      this.#firstLocationDelayS *= 2;
      return first;
    }, () => this.#locationTick());
  }

  #append(body: ReportBody): Promise<void> {
    return this.#d.append(body).then(
      () => {},
      (err) => this.#d.log.error('cannot journal report', { type: body.type, err }),
    );
  }

  #onUpdate(e: UpdateReport): void {
    if (e.type === 'progress') {
      const prev = this.#lastProgress.get(e.deploymentId);
      const every = this.#d.progressEveryMs ?? 1000;
      const finished = e.done >= e.total;
      if (prev && prev.phase === e.phase && !finished && this.#now() - prev.at < every) return;
      this.#lastProgress.set(e.deploymentId, { at: this.#now(), phase: e.phase });
    } else if (e.type === 'outcome') this.#lastProgress.delete(e.deploymentId);
    void this.#append(reportOf(e, this.#now()));
  }

  async #inventoryTick(): Promise<void> {
    if (!this.#d.inventory || !this.#signal) return;
    try {
      await this.#d.inventory.request('schedule');
    } catch (err) {
      this.#d.log.warn('inventory check failed', { err });
    }
  }

  async #locationTick(): Promise<void> {
    if (!this.#d.source || !this.#signal) return;
    try {
      const fix = await this.#d.source.location(this.#signal);
      if (fix) {
        this.#locationSent = true;
        await this.#append({ type: 'location', at: this.#now(), ...fix });
      }
    } catch (err) {
      this.#d.log.warn('location fix failed', { err });
    }
  }
}
