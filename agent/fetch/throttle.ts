// Token bucket: bytes are released at `rate` per second with a small burst, so any 10-second span
// carries the configured rate within a few percent. The bucket starts empty (no initial burst).
import { realSleep, type Sleep } from './sleep.ts';
import { monotonicMs } from '../lib/monotonic.ts';

export interface TokenBucketOptions {
  /** Bytes per second; null = unlimited. */
  rate: number | null;
  /** Monotonic milliseconds. */
  now?: () => number;
  sleep?: Sleep;
}

/** Longest single wait, so a rate change is noticed promptly. */
const MAX_WAIT_MS = 250;

export class TokenBucket {
  #rate: number | null;
  #tokens = 0;
  #last: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;

  constructor(options: TokenBucketOptions) {
    this.#rate = options.rate;
    this.#now = options.now ?? monotonicMs;
    this.#sleep = options.sleep ?? realSleep;
    this.#last = this.#now();
  }

  get rate(): number | null {
    return this.#rate;
  }

  setRate(rate: number | null): void {
    this.#refill();
    this.#rate = rate;
    this.#tokens = Math.min(this.#tokens, this.burst);
  }

  /** Bucket capacity: 1/10 s of traffic (at least 512 bytes). */
  get burst(): number {
    return this.#rate === null ? Infinity : Math.max(512, Math.floor(this.#rate / 10));
  }

  /** Largest piece to ask for at once: half the capacity, so timer overshoot is not lost. */
  get piece(): number {
    return Math.max(1, Math.floor(this.burst / 2));
  }

  #refill(): void {
    const now = this.#now();
    if (this.#rate !== null) this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
  }

  /** Waits until `n` bytes (n ≤ piece) may pass. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.#refill();
      if (this.#rate === null) return;
      if (this.#tokens >= n) {
        this.#tokens -= n;
        return;
      }
      const waitMs = this.#rate > 0 ? ((n - this.#tokens) * 1000) / this.#rate : MAX_WAIT_MS;
      await this.#sleep(Math.min(MAX_WAIT_MS, Math.max(1, Math.ceil(waitMs))), signal);
    }
  }
}

/** Passes chunks through the bucket, split into pieces the bucket can hold. */
export async function* throttled(source: AsyncIterable<Uint8Array>, bucket: TokenBucket, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      const n = Math.min(buf.length, bucket.piece);
      await bucket.take(n, signal);
      yield buf.subarray(0, n);
      buf = buf.subarray(n);
    }
  }
}
