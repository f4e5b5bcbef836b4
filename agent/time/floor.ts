// Trusted time floor: a lower bound for "now" that survives reboots and only ever rises.
// Nodes without a battery-backed RTC boot in 1970; TLS then fails with "certificate not yet
// valid" and every window or expiry check is wrong. The floor is raised only from authenticated
// sources (signed bundle creation times, hub time over the authenticated link) and is anchored
// to the monotonic clock, so while the wall clock is behind, trusted time still advances.
// The floor is a fallback, not a second clock: it replaces the system clock only when that clock
// is behind it by more than a tolerance AND not synchronised (NTP). A synchronised clock wins,
// so a floor lifted too far (a hub's bad time) can never move a correct node's windows.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic, readJsonOrSetAside } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import type { Clock } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';
import { BUILD_TIME_FLOOR_MS, HUB_CLOCK_AGREEMENT_MS, MAX_HUB_LEAD_MS, MAX_PLAUSIBLE_MS, MIN_PLAUSIBLE_MS } from './limits.ts';
import { monotonicMs } from '../lib/monotonic.ts';

export type TimeFloorSource = 'build' | 'bundle' | 'hub';

export const TIME_FLOOR_FILE = 'time-floor.json';

interface TimeFloorRecord {
  v: 1;
  floorMs: number;
  /** Human-readable copy of floorMs for operators reading the file. */
  floor: string;
  source: TimeFloorSource;
  /** Highest time from signed sources (build, bundles): what bounds hub time. Absent in old files. */
  signedMs?: number;
}

export interface TrustedTime {
  /** The system clock, or the floor (advanced by monotonic time) when the clock is behind it and not synchronised. */
  readonly now: number;
  readonly systemNow: number;
  readonly floorMs: number;
  readonly source: TimeFloorSource;
  /** The system clock is more than the tolerance below the floor. */
  readonly clockBehind: boolean;
  readonly behindMs: number;
  /** The system clock says it is synchronised (NTP): then it is used even when behind the floor. */
  readonly synchronised: boolean;
  /** `now` is the floor, not the system clock. */
  readonly usingFloor: boolean;
  /** Highest time from signed sources (build time, verified bundles). */
  readonly signedMs: number;
}

/** Files a time daemon creates once the clock is synchronised (systemd-timesyncd). */
export const SYNC_MARKERS = ['/run/systemd/timesync/synchronized'];

function markerCheck(paths: readonly string[]): () => boolean {
  let at = -Infinity;
  let last = false;
  return () => {
    const t = monotonicMs();
    if (t - at > 10_000) {
      last = paths.some((p) => existsSync(p));
      at = t;
    }
    return last;
  };
}

export interface TimeFloorOptions {
  /** System wall clock (default Date.now). */
  now?: () => number;
  /** Monotonic milliseconds (default monotonicMs). */
  monotonic?: () => number;
  /** Lowest floor ever used; default: the agent's build floor. */
  builtInFloorMs?: number;
  /** A clock this far below the floor is still "sane" (hub time is at least one latency old). */
  toleranceMs?: number;
  /** Hub time may lift the floor at most this far beyond the signed floor (default MAX_HUB_LEAD_MS). */
  maxHubLeadMs?: number;
  /** Is the system clock synchronised? Default: one of SYNC_MARKERS exists. */
  synchronised?: () => boolean;
  logger?: Logger;
}

function validateRecord(v: unknown): TimeFloorRecord {
  const r = v as Partial<TimeFloorRecord> | null;
  if (!r || r.v !== 1 || typeof r.floorMs !== 'number' || !Number.isFinite(r.floorMs)) throw new Error('not a v1 floor record');
  if (r.source !== 'build' && r.source !== 'bundle' && r.source !== 'hub') throw new Error('unknown floor source');
  if (r.signedMs !== undefined && (typeof r.signedMs !== 'number' || !Number.isFinite(r.signedMs))) throw new Error('bad signedMs');
  return r as TimeFloorRecord;
}

export class TimeFloor {
  readonly #path: string;
  readonly #now: () => number;
  readonly #mono: () => number;
  readonly #toleranceMs: number;
  readonly #maxHubLeadMs: number;
  readonly #log: Logger;
  readonly #synchronised: () => boolean;
  readonly #builtIn: number;
  #floorMs: number;
  #signedMs: number;
  #source: TimeFloorSource;
  #monoAtFloor: number;
  #writes: Promise<unknown> = Promise.resolve();
  #warnedBehind = false;

  private constructor(path: string, floorMs: number, source: TimeFloorSource, signedMs: number, opts: TimeFloorOptions) {
    this.#path = path;
    this.#now = opts.now ?? Date.now;
    this.#mono = opts.monotonic ?? monotonicMs;
    this.#toleranceMs = opts.toleranceMs ?? 60_000;
    this.#maxHubLeadMs = opts.maxHubLeadMs ?? MAX_HUB_LEAD_MS;
    this.#signedMs = signedMs;
    this.#log = opts.logger ?? silentLogger();
    this.#synchronised = opts.synchronised ?? markerCheck(SYNC_MARKERS);
    this.#builtIn = opts.builtInFloorMs ?? BUILD_TIME_FLOOR_MS;
    this.#floorMs = floorMs;
    this.#source = source;
    this.#monoAtFloor = this.#mono();
  }

  /** Loads the floor kept in `stateDir` (a corrupt file is set aside; the built-in floor applies). */
  static async open(stateDir: string, opts: TimeFloorOptions = {}): Promise<TimeFloor> {
    const path = join(stateDir, TIME_FLOOR_FILE);
    const builtIn = opts.builtInFloorMs ?? BUILD_TIME_FLOOR_MS;
    const read = await readJsonOrSetAside(path, validateRecord, opts.now);
    if (read.kind === 'corrupt') opts.logger?.warn('time floor file corrupt, set aside', { reason: read.reason, file: read.setAsideTo });
    const stored = read.kind === 'ok' ? read.value : null;
    if (!stored || stored.floorMs <= builtIn) return new TimeFloor(path, builtIn, 'build', builtIn, opts);
    // Files from before signedMs existed: a non-hub floor is signed; a hub floor tells nothing.
    const signed = Math.max(builtIn, stored.signedMs ?? (stored.source === 'hub' ? builtIn : stored.floorMs));
    return new TimeFloor(path, stored.floorMs, stored.source, signed, opts);
  }

  /** The floor as learned (not advanced by elapsed time). */
  get floorMs(): number {
    return this.#floorMs;
  }

  /**
   * Raises the floor to `ms` if that is higher; never lowers it. Persisted atomically before it
   * takes effect. Returns true when the floor rose. Only call with authenticated times.
   */
  raise(ms: number, source: TimeFloorSource): Promise<boolean> {
    if (!Number.isFinite(ms) || ms < MIN_PLAUSIBLE_MS || ms > MAX_PLAUSIBLE_MS) {
      // A wild value would pin every node's clock in the future forever: refuse it loudly.
      return Promise.reject(new OutpostError('E_TIME_FLOOR_INVALID', `implausible time for the floor: ${ms}`));
    }
    const step = this.#writes.then(async () => {
      const signedMs = source === 'hub' ? this.#signedMs : Math.max(this.#signedMs, ms);
      if (ms <= this.#effectiveFloor()) {
        if (signedMs === this.#signedMs) return false;
        // Not higher than the floor, but now signed: keep that, it bounds future hub time.
        await this.#write(this.#floorMs, this.#source, signedMs);
        return false;
      }
      await this.#write(ms, source, signedMs);
      this.#floorMs = ms;
      this.#source = source;
      this.#monoAtFloor = this.#mono();
      this.#log.info('time floor raised', { floor: new Date(ms).toISOString(), source });
      return true;
    });
    this.#writes = step.catch(() => {});
    return step;
  }

  /** Resolves once every raise() started so far has been written or has failed (a shutdown waits for it). */
  async settled(): Promise<void> {
    await this.#writes;
  }

  /** From a verified bundle manifest's creation time (ISO string, Date or epoch ms). */
  raiseFromBundle(createdAt: string | number | Date): Promise<boolean> {
    return this.raise(toMs(createdAt), 'bundle');
  }

  /**
   * From the hub's time, received over the authenticated session. The hub signs nothing, so its
   * time counts in full only when the system clock agrees with it; otherwise it lifts the floor
   * at most `maxHubLeadMs` beyond the signed floor (the rest is refused and logged).
   */
  raiseFromHub(hubTime: string | number | Date): Promise<boolean> {
    const ms = toMs(hubTime);
    if (!Number.isFinite(ms)) return this.raise(ms, 'hub');
    const agrees = Math.abs(ms - this.#now()) <= HUB_CLOCK_AGREEMENT_MS;
    const cap = this.#signedMs + this.#maxHubLeadMs;
    if (agrees || ms <= cap) return this.raise(ms, 'hub');
    this.#log.warn('hub time too far beyond the signed time floor; raising only to the bound', {
      hubTime: new Date(Math.min(ms, MAX_PLAUSIBLE_MS)).toISOString(), bound: new Date(cap).toISOString(),
    });
    return this.raise(cap, 'hub');
  }

  /** Highest time from signed sources (build time, verified bundles). */
  get signedMs(): number {
    return this.#signedMs;
  }

  async #write(floorMs: number, source: TimeFloorSource, signedMs: number): Promise<void> {
    const record: TimeFloorRecord = { v: 1, floorMs, floor: new Date(floorMs).toISOString(), source, signedMs };
    await writeJsonAtomic(this.#path, record);
    this.#signedMs = signedMs;
  }

  trustedNow(): TrustedTime {
    const systemNow = this.#now();
    const floor = this.#effectiveFloor();
    const behindMs = Math.max(0, floor - systemNow);
    const clockBehind = behindMs > this.#toleranceMs;
    const synchronised = clockBehind && this.#synchronised();
    const usingFloor = clockBehind && !synchronised;
    if (clockBehind && !this.#warnedBehind) {
      this.#log.warn(usingFloor ? 'system clock is behind the trusted time floor; using the floor' : 'system clock is behind the time floor but synchronised; using the clock (`outpost time --reset-floor` clears a bad floor)', {
        behindMs, floor: new Date(floor).toISOString(), source: this.#source,
      });
    }
    this.#warnedBehind = clockBehind;
    return {
      now: usingFloor ? floor : systemNow, systemNow, floorMs: this.#floorMs, source: this.#source, clockBehind, behindMs, synchronised, usingFloor, signedMs: this.#signedMs,
    };
  }

  /**
   * A site's way out of a bad floor (e.g. lifted by a hub with a wrong clock): back to the highest
   * signed time ('signed'), or to the agent's build time, forgetting signed times too ('build').
   * Returns the new floor. The only way the floor ever goes down.
   */
  reset(to: 'signed' | 'build'): Promise<number> {
    const step = this.#writes.then(async () => {
      const signedMs = to === 'build' ? this.#builtIn : this.#signedMs;
      const source: TimeFloorSource = to === 'build' || signedMs === this.#builtIn ? 'build' : 'bundle';
      await this.#write(signedMs, source, signedMs);
      this.#log.warn('time floor reset', { from: new Date(this.#floorMs).toISOString(), to: new Date(signedMs).toISOString(), source });
      this.#floorMs = signedMs;
      this.#source = source;
      this.#monoAtFloor = this.#mono();
      return signedMs;
    });
    this.#writes = step.catch(() => {});
    return step;
  }

  /** A platform Clock for windows, expiries and schedules: never earlier than the floor. */
  clock(): Clock {
    return { now: () => this.trustedNow().now };
  }

  #effectiveFloor(): number {
    return this.#floorMs + Math.max(0, this.#mono() - this.#monoAtFloor);
  }
}

function toMs(t: string | number | Date): number {
  if (typeof t === 'number') return t;
  if (t instanceof Date) return t.getTime();
  return Date.parse(t);
}
