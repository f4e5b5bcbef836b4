// A token bucket: `ratePerS` tokens a second, at most `burst` saved up. Used for handshake
// admission and for each node's report rate.
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #at: number;
  #now: () => number;

  /** `initial`: tokens at start (default a full burst). */
  constructor(ratePerS: number, burst: number, now: () => number = Date.now, initial?: number) {
    this.#rate = ratePerS;
    this.#burst = Math.max(1, burst);
    this.#tokens = Math.min(this.#burst, initial ?? this.#burst);
    this.#now = now;
    this.#at = now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }

  /** A new rate (and burst) from now on; what was saved up is kept up to the new burst. */
  setRate(ratePerS: number, burst: number): void {
    this.#refill();
    this.#rate = ratePerS;
    this.#burst = Math.max(1, burst);
    this.#tokens = Math.min(this.#tokens, this.#burst);
  }

  /** Takes `n` tokens if there are that many. */
  take(n = 1): boolean {
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Takes `n` tokens now (may go negative) and says how long to wait before acting (ms). */
  debt(n: number): number {
    this.#refill();
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#rate) * 1000);
  }
}
