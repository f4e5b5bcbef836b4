// Admission control for agent handshakes. After a hub restart the whole fleet dials within a
// few seconds (full jitter spreads it over only ~2x the outage); verifying signatures and
// loading node records for all of them at once starves the hub and times handshakes out, which
// makes the storm longer. So handshakes are admitted from a token bucket of `ratePerS`; the rest
// get a `backoff` hint sized so that, with the agent spreading its return uniformly over the
// hint, the refused nodes come back at about the admitted rate.
export interface AdmissionOptions {
  /** Handshakes admitted per second; the burst is a quarter of it, so no 1 s window exceeds 1.25x. */
  ratePerS: number;
  /** Nodes expected to come back (accepted and not connected); sizes the hint. */
  missing: () => number;
  /** Shortest and longest hint given (seconds). */
  minHintS?: number;
  maxHintS?: number;
  /**
   * Congestion: while the oldest admitted handshake has waited this long (ms, default 5,000) or
   * `maxInFlight` (default 500) are unfinished, nobody else is admitted. A hub short of CPU
   * (a shared or overloaded machine) would otherwise admit more handshakes than it can finish
   * within the agents' auth timeout (15 s): every one times out, the agents fall into their
   * exponential backoff (up to 5 min) and the hub's work is wasted — the restart never ends.
   */
  slowMs?: number;
  maxInFlight?: number;
  now?: () => number;
}

import { TokenBucket } from './token-bucket.ts';

/**
 * Admitted: call `done()` once the handshake ended (refused or closed), `done(true)` once the
 * node was told it is authenticated (what the node experiences as reconnected).
 */
export type Admission = { admit: true; done: (authenticated?: boolean) => void } | { admit: false; retryAfterS: number };

/** Counts of one second (`at`: its start, ms epoch): handshakes admitted, refused, authenticated. */
export interface AdmissionSecond {
  at: number;
  admitted: number;
  refused: number;
  authenticated: number;
}

export class AdmissionControl {
  #o: Required<Omit<AdmissionOptions, 'missing'>> & Pick<AdmissionOptions, 'missing'>;
  /** Made at the first request: tokens saved up while the hub was still starting would be a burst. */
  #bucket: TokenBucket | null = null;
  /** Paces acceptances sent (see `paceMs`), the same rate and burst; made with `#bucket`. */
  #pace: TokenBucket | null = null;
  /** Admitted handshakes not finished yet, with when they were admitted; oldest first. */
  #inFlight = new Map<object, number>();
  /** Counters for the operator API and benchmarks. */
  admitted = 0;
  refused = 0;
  /** Of the refused: because handshakes were backing up (not the rate). */
  congested = 0;
  /** Admitted handshakes that ended with the node authenticated. */
  authenticated = 0;
  /** The current second's counts; `onSecond` gets each second that had any once it is over. */
  #second: AdmissionSecond = { at: 0, admitted: 0, refused: 0, authenticated: 0 };
  onSecond: ((s: AdmissionSecond) => void) | null = null;

  constructor(o: AdmissionOptions) {
    this.#o = { minHintS: 5, maxHintS: 900, slowMs: 5_000, maxInFlight: 500, now: Date.now, ...o };
  }

  /**
   * One token at the first request, not a full burst: a restarted hub's first second admits the
   * rate (+1), not rate + burst (the 10,000-node restart peaked at 5.1 %/s with a full bucket).
   * Made then, not at construction: a hub that takes seconds to start listening would have
   * filled it meanwhile.
   */
  #tokens(): TokenBucket {
    if (!this.#bucket) {
      const burst = Math.ceil(this.#o.ratePerS / 4);
      this.#bucket = new TokenBucket(this.#o.ratePerS, burst, this.#o.now, 1);
      this.#pace = new TokenBucket(this.#o.ratePerS, burst, this.#o.now, 1);
    }
    return this.#bucket;
  }

  /**
   * How long (ms) to hold an admitted handshake's acceptance before sending it. A node is back
   * when it is told it is accepted; a hub short of CPU finishes the handshakes it admitted over
   * several seconds in one bunch, and that bunch is what the fleet sees. Acceptances are let out
   * at the admitted rate (burst a quarter of it), so no second carries more than admissions can.
   * The wait counts as in flight, so a long queue stops admissions (`slowMs`).
   */
  paceMs(): number {
    this.#tokens();
    return this.#pace!.debt(1);
  }

  get ratePerS(): number {
    return this.#o.ratePerS;
  }

  /** Follows the fleet size (the default rate is a share of it). */
  setRate(ratePerS: number): void {
    if (ratePerS === this.#o.ratePerS) return;
    this.#o.ratePerS = ratePerS;
    this.#bucket?.setRate(ratePerS, Math.ceil(ratePerS / 4));
    this.#pace?.setRate(ratePerS, Math.ceil(ratePerS / 4));
  }

  /** Admitted handshakes not finished yet (acceptances held back by pacing included). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** One call per new agent connection, before any work is done for it. */
  request(): Admission {
    if (!this.#congested() && this.#tokens().take()) {
      this.admitted++;
      this.#tick().admitted++;
      const key = {};
      this.#inFlight.set(key, this.#o.now());
      return {
        admit: true,
        done: (authenticated = false) => {
          if (!this.#inFlight.delete(key) || !authenticated) return;
          this.authenticated++;
          this.#tick().authenticated++;
        },
      };
    }
    this.refused++;
    this.#tick().refused++;
    // Returns spread uniformly over H seconds arrive at missing/H per second; aim at 80 % of the
    // rate so admitted handshakes and fresh dials still fit.
    const hint = Math.ceil(this.#o.missing() / (0.8 * this.#o.ratePerS));
    return { admit: false, retryAfterS: Math.max(this.#o.minHintS, Math.min(this.#o.maxHintS, hint)) };
  }

  /**
   * The current second's counts. Admissions per second bound the load, but a node counts as
   * back when its handshake completes: on a busy hub those can bunch (admitted over several
   * seconds, finished in one), so both are counted, per second, for the log and the bench.
   */
  #tick(): AdmissionSecond {
    const at = Math.floor(this.#o.now() / 1000) * 1000;
    if (at !== this.#second.at) {
      const s = this.#second;
      if (s.admitted || s.refused || s.authenticated) this.onSecond?.(s);
      this.#second = { at, admitted: 0, refused: 0, authenticated: 0 };
    }
    return this.#second;
  }

  /** Emits the last second's counts if that second is over (a timer calls it; requests do too). */
  flush(): void {
    this.#tick();
  }

  #congested(): boolean {
    // A Map iterates in insertion order: the first entry is the oldest unfinished handshake.
    const oldest = this.#inFlight.values().next();
    const jammed = this.#inFlight.size >= this.#o.maxInFlight || (!oldest.done && this.#o.now() - oldest.value > this.#o.slowMs);
    if (jammed) this.congested++;
    return jammed;
  }
}

/**
 * Default rate of one hub process: the fleet's rate is 4 % of the fleet per second (with the
 * burst at most 5 % in any second), at least `floor` (20/s) so small fleets are never slowed;
 * `processes` hub processes serving one fleet each take an equal share of it. The floor is the
 * fleet's, shared like the rate: two processes each at a floor of their own admitted twice it.
 */
export function defaultAdmissionRate(fleet: number, processes = 1, floor = 20): number {
  return Math.max(floor, Math.floor(fleet * 0.04)) / Math.max(1, processes);
}
