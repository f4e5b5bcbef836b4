// Decides when a download may run and how fast: download windows (pure maths in
// window/window.ts), the byte budget, and a "download now" override. It wakes itself at the next
// computed boundary (re-checking at least once a minute, so a clock step after NTP sync is
// noticed) — no cron daemon involved. A running download gets a session signal that aborts with
// E_WINDOW_CLOSED or E_BUDGET_SPENT: the update machine records that as `aborted`, not failed.
import { OutpostError } from '../../shared/errors.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { nextChange, rateAt, windowStatus, type WindowSpec } from '../window/window.ts';
import type { ByteBudget } from './byte-budget.ts';
import { realSleep, type Sleep } from './sleep.ts';
import { TokenBucket } from './throttle.ts';

export interface GateOptions {
  readonly windows: readonly WindowSpec[];
  /** Cap applied at all times, override included (null: none). */
  readonly maxBytesPerSecond: number | null;
  readonly budget: ByteBudget | null;
  /** Wall clock (the trusted time of agent/time). */
  readonly now: () => number;
  readonly sleep?: Sleep;
  readonly throttle?: TokenBucket;
  readonly logger?: Logger;
  /** Longest sleep before re-checking the clock. */
  readonly recheckMs?: number;
}

export type GateReason = 'open' | 'override' | 'window' | 'budget';

export interface GateStatus {
  readonly open: boolean;
  readonly reason: GateReason;
  /** Open: when it closes (null: not soon). Closed: when it may open (null: never / unknown). */
  readonly until: number | null;
  /** Current rate cap in bytes/s (null: none). */
  readonly rate: number | null;
}

export interface GateSession {
  /** Aborts when the window closes or the budget is spent. */
  readonly signal: AbortSignal;
  /** Stops watching (call when the download ends, however it ends). */
  end(): void;
}

export class DownloadGate {
  readonly throttle: TokenBucket;
  readonly #o: GateOptions;
  readonly #sleep: Sleep;
  readonly #log: Logger;
  #overrideUntil: number | null = null;
  /** The windows in force: configured, hub-pushed, or a deployment's own (setWindows). */
  #windows: readonly WindowSpec[];
  /** Aborted (and replaced) whenever the override changes, to wake sleepers early. */
  #changed = new AbortController();

  constructor(options: GateOptions) {
    this.#o = options;
    this.#sleep = options.sleep ?? realSleep;
    this.#log = (options.logger ?? silentLogger()).child('download-gate');
    this.throttle = options.throttle ?? new TokenBucket({ rate: options.maxBytesPerSecond });
    this.#windows = options.windows;
  }

  /** Replaces the download windows (null: back to the configured ones); wakes waiters and sessions. */
  setWindows(windows: readonly WindowSpec[] | null): void {
    this.#windows = windows ?? this.#o.windows;
    this.#log.info('download windows changed', { windows: this.#windows.length });
    this.#wake();
  }

  get windows(): readonly WindowSpec[] {
    return this.#windows;
  }

  /** "Download now": ignore windows and budget until `until` (ms) — or clear with null. */
  setOverride(until: number | null): void {
    this.#overrideUntil = until;
    this.#log.info(until === null ? 'download override cleared' : 'download override set', { until });
    this.#wake();
  }

  #wake(): void {
    const old = this.#changed;
    this.#changed = new AbortController();
    old.abort();
  }

  status(): GateStatus {
    const now = this.#o.now();
    const cap = this.#o.maxBytesPerSecond;
    if (this.#overrideUntil !== null && now < this.#overrideUntil) {
      return { open: true, reason: 'override', until: this.#overrideUntil, rate: cap };
    }
    const w = windowStatus(this.#windows, now);
    if (!w.open) return { open: false, reason: 'window', until: w.until, rate: 0 };
    const b = this.#o.budget?.status();
    if (b && b.remaining === 0) return { open: false, reason: 'budget', until: b.refillsAt, rate: 0 };
    return { open: true, reason: 'open', until: w.until, rate: rateAt(this.#windows, now, cap) };
  }

  /** Resolves once downloading is allowed; rejects with the signal's reason on abort. */
  async waitOpen(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const s = this.status();
      if (s.open) {
        this.throttle.setRate(s.rate);
        return;
      }
      this.#log.info('downloads paused', { reason: s.reason, until: s.until === null ? null : new Date(s.until).toISOString() });
      await this.#nap(s.until, signal);
    }
  }

  /** Watches the gate while a download runs. */
  session(signal: AbortSignal): GateSession {
    const ac = new AbortController();
    const stop = new AbortController();
    const watch = AbortSignal.any([signal, stop.signal, ac.signal]);
    const close = (s: GateStatus) => {
      const code = s.reason === 'budget' ? 'E_BUDGET_SPENT' : 'E_WINDOW_CLOSED';
      const what = s.reason === 'budget' ? 'byte budget spent' : 'download window closed';
      ac.abort(new OutpostError(code, `${what}; resuming ${s.until === null ? 'when allowed' : 'at ' + new Date(s.until).toISOString()}`, { retryable: true }));
    };
    const loop = async () => {
      for (;;) {
        const s = this.status();
        if (!s.open) return close(s);
        this.throttle.setRate(s.rate);
        const next = s.reason === 'override' ? s.until : nextChange(this.#windows, this.#o.now());
        await this.#nap(next, watch);
      }
    };
    loop().catch((err) => {
      if (!watch.aborted) ac.abort(err);
    });
    this.#sessions.add(close);
    const combined = AbortSignal.any([signal, ac.signal]);
    return {
      signal: combined,
      end: () => {
        this.#sessions.delete(close);
        stop.abort();
      },
    };
  }

  readonly #sessions = new Set<(s: GateStatus) => void>();

  /** Byte meter for the HTTP source: charges the budget and closes sessions when it runs out. */
  charge(n: number): void {
    const budget = this.#o.budget;
    if (!budget || !budget.charge(n)) return;
    const s = this.status();
    if (s.open) return; // override in force
    for (const close of this.#sessions) close(s);
  }

  /** Writes the exact budget counters (after a download step; between steps the file over-counts). */
  async flush(): Promise<void> {
    await this.#o.budget?.flush();
  }

  /** Sleeps until `until` (capped by recheckMs), an override change, or abort. */
  async #nap(until: number | null, signal: AbortSignal): Promise<void> {
    const recheck = this.#o.recheckMs ?? 60_000;
    const ms = until === null ? recheck : Math.min(recheck, Math.max(0, until - this.#o.now()));
    const changed = this.#changed.signal;
    try {
      await this.#sleep(Math.max(ms, 1), AbortSignal.any([signal, changed]));
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!changed.aborted) throw err;
    }
  }
}
