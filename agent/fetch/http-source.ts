// The HTTP BundleSource. Fresh start: one GET from byte 0 through verifier.readBundle (the head is
// verified before any block reaches the sink). Resume, a head the caller already verified
// (`known`), and every retry once the head is known:
// `Range` from the first block not yet handed to the sink, through verifier.readBlocks. The
// validator (ETag, else Last-Modified) seen first is pinned; any later difference is
// E_SOURCE_CHANGED so the caller restarts cleanly.
import type { BundleSource, DeliverOptions } from '../bundle/source.ts';
import type { VerifiedHead, VerifiedPayload } from '../bundle/types.ts';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import { fullJitterDelay } from '../lib/backoff.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import type { HttpTransport } from '../net/http-transport.ts';
import { openRange, RetryableHttpError, type RangeResponse } from './http-range.ts';
import { throttled, type TokenBucket } from './throttle.ts';
import { realSleep, type Sleep } from './sleep.ts';
import { TrackingSink } from './tracking-sink.ts';
import { streamEnd, streamOffset } from '../bundle/payload-stream.ts';
import { monotonicMs } from '../lib/monotonic.ts';
import { resumedHead } from '../bundle/resumed-head.ts';

export interface RetryPolicy {
  /** Consecutive failed attempts without a new verified block before giving up. */
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly capMs: number;
  /** Give up when no new verified block arrived for this long. */
  readonly giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseMs: 1000, capMs: 60_000, giveUpAfterMs: 30 * 60_000 };

export interface HttpSourceOptions {
  readonly transport: HttpTransport;
  readonly retry?: Partial<RetryPolicy>;
  /** No byte for this long (or no response headers) → the attempt is a stall and is retried. */
  readonly readDeadlineMs?: number;
  /** Times one block may fail its hash before the download fails. */
  readonly maxBlockRetries?: number;
  /** Shared throttle; the download gate sets its rate per window. */
  readonly throttle?: TokenBucket | null;
  /** Every body byte received, skipped ones included (byte budget). */
  readonly onBytes?: (n: number) => void;
  readonly logger?: Logger;
  readonly sleep?: Sleep;
  /** Monotonic milliseconds (for giveUpAfterMs). */
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Attempts {
  failures: number;
  lastProgressAt: number;
  corruptKey: string;
  corruptCount: number;
  warnedIgnoreRange: boolean;
}

/** Our own errors may come back wrapped by the verifier: find the one that says what happened. */
function fetchCause(err: unknown): unknown {
  let e: unknown = err;
  for (let i = 0; i < 6 && e instanceof Error; i++) {
    if (isOutpostError(e) && (e.code.startsWith('E_FETCH_') || e.code === 'E_SOURCE_CHANGED')) return e;
    e = e.cause;
  }
  return err;
}

export class HttpBundleSource implements BundleSource {
  readonly origin: string;
  readonly #url: URL;
  readonly #o: HttpSourceOptions;
  readonly #retry: RetryPolicy;
  readonly #log: Logger;
  readonly #sleep: Sleep;
  readonly #now: () => number;

  constructor(url: string, options: HttpSourceOptions) {
    try {
      this.#url = new URL(url);
    } catch {
      throw new OutpostError('E_FETCH_URL', `not a URL: ${url}`);
    }
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') throw new OutpostError('E_FETCH_URL', `unsupported URL scheme in ${url}`);
    this.origin = this.#url.href;
    this.#o = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#log = (options.logger ?? silentLogger()).child('fetch', { url: this.origin });
    this.#sleep = options.sleep ?? realSleep;
    this.#now = options.now ?? monotonicMs; // monotonic: a clock step must not end a download
  }

  async deliver(o: DeliverOptions): Promise<VerifiedHead> {
    const track = new TrackingSink(o.sink);
    let pinned: string | null | undefined;
    if (o.resume) {
      const head = await resumedHead(o.verifier, o.resume);
      if (!head.payloads.some((p) => p.entry.name === o.resume!.payload)) {
        throw new OutpostError('E_FETCH_RESUME', `resume point names payload ${o.resume.payload}, which the bundle head does not have`);
      }
      track.seed(head, o.resume.payload, o.resume.nextBlock);
      pinned = o.resume.validator ?? undefined;
    } else if (o.known) {
      // The head is verified already: the first payload comes by Range, pinned to the head's validator.
      track.head = o.known.head;
      pinned = o.known.validator;
      o.onValidator?.(pinned);
    }
    const pin = (res: RangeResponse) => {
      if (pinned === undefined || pinned === null) {
        pinned = res.validator;
        o.onValidator?.(pinned);
      } else if (res.validator !== pinned) {
        throw new OutpostError('E_SOURCE_CHANGED', `bundle at ${this.origin} changed: validator ${pinned} is now ${res.validator ?? 'absent'}`);
      }
    };
    const a: Attempts = { failures: 0, lastProgressAt: this.#now(), corruptKey: '', corruptCount: 0, warnedIgnoreRange: false };
    for (;;) {
      o.signal.throwIfAborted();
      const before = track.delivered;
      try {
        if (track.head === null) return await this.#fresh(o, track, pin);
        await this.#ranges(o, track, track.head, () => pinned ?? null, pin, a);
        return track.head;
      } catch (raw) {
        if (o.signal.aborted) throw o.signal.reason;
        if (track.delivered > before) {
          a.failures = 0;
          a.lastProgressAt = this.#now();
        }
        await this.#sleep(this.#retryDelay(fetchCause(raw), raw, track, a), o.signal);
      }
    }
  }

  /** Decides whether to retry; returns the wait, or throws when the error is final. */
  #retryDelay(err: unknown, raw: unknown, track: TrackingSink, a: Attempts): number {
    const where = track.current === null ? 'head' : `${track.current} block ${track.nextBlock(track.current)}`;
    if (isOutpostError(raw, 'E_BUNDLE_BLOCK_HASH')) {
      a.corruptCount = a.corruptKey === where ? a.corruptCount + 1 : 1;
      a.corruptKey = where;
      if (a.corruptCount > (this.#o.maxBlockRetries ?? 3)) {
        throw new OutpostError('E_FETCH_BLOCK_CORRUPT', `${where} failed its hash ${a.corruptCount} times from ${this.origin}`, { cause: raw });
      }
      this.#log.warn('block failed its hash; fetching it again', { at: where, attempt: a.corruptCount });
      return fullJitterDelay(a.corruptCount - 1, { baseMs: this.#retry.baseMs, capMs: this.#retry.capMs, random: this.#o.random });
    }
    if (!isOutpostError(err) || !err.retryable) throw raw;
    a.failures++;
    const stuckMs = this.#now() - a.lastProgressAt;
    if (a.failures > this.#retry.maxAttempts || stuckMs > this.#retry.giveUpAfterMs) {
      throw new OutpostError('E_FETCH_RETRIES', `gave up on ${this.origin} after ${a.failures} attempts without progress (${Math.round(stuckMs / 1000)} s): ${err.message}`, {
        retryable: true,
        cause: err,
      });
    }
    let delay = fullJitterDelay(a.failures - 1, { baseMs: this.#retry.baseMs, capMs: this.#retry.capMs, random: this.#o.random });
    if (err instanceof RetryableHttpError && err.retryAfterMs !== null) delay = Math.max(delay, Math.min(err.retryAfterMs, this.#retry.capMs));
    this.#log.warn('download interrupted; retrying', { at: where, attempt: a.failures, delayMs: delay, error: err });
    return delay;
  }

  async #fresh(o: DeliverOptions, track: TrackingSink, pin: (r: RangeResponse) => void): Promise<VerifiedHead> {
    const res = await openRange(this.#o.transport, { url: this.#url, start: 0, end: null, validator: null, signal: o.signal, deadlineMs: this.#deadline() });
    o.onFetched?.(0, 1);
    try {
      pin(res);
      return await o.verifier.readBundle(this.#body(res, 0, null, o), track, o.signal);
    } finally {
      res.close();
    }
  }

  async #ranges(o: DeliverOptions, track: TrackingSink, head: VerifiedHead, validator: () => string | null, pin: (r: RangeResponse) => void, a: Attempts): Promise<void> {
    const first = Math.max(0, head.payloads.findIndex((p) => p.entry.name === track.current));
    for (const p of head.payloads.slice(first)) {
      const from = track.nextBlock(p.entry.name);
      if (from >= p.entry.blocks) continue;
      const want = streamOffset(p, from);
      const last = streamEnd(p) - 1;
      const res = await openRange(this.#o.transport, { url: this.#url, start: want, end: last, validator: validator(), signal: o.signal, deadlineMs: this.#deadline() });
      o.onFetched?.(0, 1);
      try {
        pin(res);
        if (res.start !== want && !a.warnedIgnoreRange) {
          a.warnedIgnoreRange = true;
          this.#log.warn('server ignores Range; skipping to the first missing block', { skipBytes: want - res.start });
        }
        if (!track.begun(p.entry.name)) await track.begin(head, p.entry);
        await o.verifier.readBlocks(this.#body(res, want, last - want + 1, o), head, p.entry.name, from, track, o.signal);
      } finally {
        res.close();
      }
      this.#checkComplete(track, p);
    }
  }

  #checkComplete(track: TrackingSink, p: VerifiedPayload): void {
    const next = track.nextBlock(p.entry.name);
    if (next < p.entry.blocks) {
      throw new OutpostError('E_FETCH_NETWORK', `${p.entry.name}: stream ended at block ${next} of ${p.entry.blocks}`, { retryable: true });
    }
  }

  #deadline(): number {
    return this.#o.readDeadlineMs ?? 30_000;
  }

  /** Meter, throttle, skip to `want` (server ignored Range) and cut after `length` bytes. */
  async *#body(res: RangeResponse, want: number, length: number | null, o: DeliverOptions): AsyncGenerator<Buffer> {
    const { onBytes } = this.#o;
    const { onFetched, signal } = o;
    async function* metered(): AsyncGenerator<Buffer> {
      for await (const chunk of res.body) {
        onBytes?.(chunk.length);
        onFetched?.(chunk.length, 0);
        yield chunk;
      }
    }
    const source = this.#o.throttle ? throttled(metered(), this.#o.throttle, signal) : metered();
    let pos = res.start;
    let remaining = length;
    for await (let chunk of source) {
      if (pos < want) {
        const skip = Math.min(want - pos, chunk.length);
        pos += skip;
        chunk = chunk.subarray(skip);
        if (chunk.length === 0) continue;
      }
      if (remaining !== null && chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      pos += chunk.length;
      if (remaining !== null) remaining -= chunk.length;
      yield chunk;
      if (remaining === 0) return;
    }
  }
}
