// Moved/returned detection with hysteresis, pure (no I/O, no clock): fed fixes, returns events.
//
// A fix is *good* when mode ≥ 2 and its accuracy is known and ≤ maxAccuracyM; other fixes carry
// no information and are ignored. A good fix at distance d from the site with accuracy a is
//   outside  when d − a > radius + hysteresis   (even its error circle is beyond the margin)
//   inside   when d + a ≤ radius                (its whole error circle is within the site)
//   neither  otherwise (the band between), which breaks any streak.
// The zone flips only after `fixes` consecutive good fixes on the other side spanning at least
// `seconds` of receiver time. Noise near the edge lands in the band or breaks streaks, so it
// cannot flap; a single wild fix is one fix, not a streak.
import { distanceM } from './geo.ts';

export type Zone = 'inside' | 'outside';

export interface MovementOptions {
  radiusM: number;
  hysteresisM: number;
  maxAccuracyM: number;
  fixes: number;
  seconds: number;
}

export interface MovementFix {
  latitude: number;
  longitude: number;
  accuracyM: number | null;
  mode: number;
  /** Receiver time of the fix (epoch ms). */
  timeMs: number;
}

export interface MovementEvent {
  type: 'moved' | 'returned';
  /** The fix that completed the streak. */
  fix: MovementFix;
  distanceM: number;
  /** Receiver time of the first fix of the streak. */
  sinceMs: number;
  fixes: number;
}

export type Classification = Zone | 'band' | 'ignored';

export class MovementDetector {
  readonly #site: { latitude: number; longitude: number };
  readonly #o: MovementOptions;
  #zone: Zone;
  #streak: { zone: Zone; count: number; firstMs: number } | null = null;
  #lastMs = -Infinity;

  constructor(site: { latitude: number; longitude: number }, o: MovementOptions, initial: Zone = 'inside') {
    this.#site = site;
    this.#o = o;
    this.#zone = initial;
  }

  get zone(): Zone {
    return this.#zone;
  }

  classify(fix: MovementFix): { kind: Classification; distanceM: number } {
    const d = distanceM(this.#site, fix);
    const a = fix.accuracyM;
    if (fix.mode < 2 || a === null || a > this.#o.maxAccuracyM) return { kind: 'ignored', distanceM: d };
    if (d - a > this.#o.radiusM + this.#o.hysteresisM) return { kind: 'outside', distanceM: d };
    if (d + a <= this.#o.radiusM) return { kind: 'inside', distanceM: d };
    return { kind: 'band', distanceM: d };
  }

  feed(fix: MovementFix): MovementEvent | null {
    const { kind, distanceM: d } = this.classify(fix);
    if (kind === 'ignored') return null;
    // The same epoch reported twice never counts twice; if the receiver's time jumps back, the
    // old streak's duration means nothing any more, so it starts over from this fix.
    if (fix.timeMs === this.#lastMs) return null;
    if (fix.timeMs < this.#lastMs) this.#streak = null;
    this.#lastMs = fix.timeMs;
    if (kind === 'band' || kind === this.#zone) {
      this.#streak = null;
      return null;
    }
    if (this.#streak?.zone !== kind) this.#streak = { zone: kind, count: 0, firstMs: fix.timeMs };
    this.#streak.count++;
    if (this.#streak.count < this.#o.fixes || fix.timeMs - this.#streak.firstMs < this.#o.seconds * 1000) return null;
    const event: MovementEvent = { type: kind === 'outside' ? 'moved' : 'returned', fix, distanceM: d, sinceMs: this.#streak.firstMs, fixes: this.#streak.count };
    this.#zone = kind;
    this.#streak = null;
    return event;
  }
}
