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
  now?: () => number;
}

import { TokenBucket } from './token-bucket.ts';

export type Admission = { admit: true } | { admit: false; retryAfterS: number };

export class AdmissionControl {
  #o: Required<Omit<AdmissionOptions, 'missing'>> & Pick<AdmissionOptions, 'missing'>;
  #bucket: TokenBucket;
  /** Counters for the operator API and benchmarks. */
  admitted = 0;
  refused = 0;

  constructor(o: AdmissionOptions) {
    this.#o = { minHintS: 5, maxHintS: 900, now: Date.now, ...o };
    this.#bucket = new TokenBucket(o.ratePerS, Math.ceil(o.ratePerS / 4), this.#o.now);
  }

  get ratePerS(): number {
    return this.#o.ratePerS;
  }

  /** Follows the fleet size (the default rate is a share of it). */
  setRate(ratePerS: number): void {
    if (ratePerS === this.#o.ratePerS) return;
    this.#o.ratePerS = ratePerS;
    this.#bucket.setRate(ratePerS, Math.ceil(ratePerS / 4));
  }

  /** One call per new agent connection, before any work is done for it. */
  request(): Admission {
    if (this.#bucket.take()) {
      this.admitted++;
      return { admit: true };
    }
    this.refused++;
    // Returns spread uniformly over H seconds arrive at missing/H per second; aim at 80 % of the
    // rate so admitted handshakes and fresh dials still fit.
    const hint = Math.ceil(this.#o.missing() / (0.8 * this.#o.ratePerS));
    return { admit: false, retryAfterS: Math.max(this.#o.minHintS, Math.min(this.#o.maxHintS, hint)) };
  }
}

/**
 * Default rate: 4 % of the accepted fleet per second (with the burst at most 5 % in any second),
 * at least `floor` (20/s) so small fleets are never slowed.
 */
export function defaultAdmissionRate(fleet: number, floor = 20): number {
  return Math.max(floor, Math.floor(fleet * 0.04));
}
