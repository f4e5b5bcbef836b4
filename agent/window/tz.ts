// Time zone arithmetic through Intl (the ICU data that ships with Node): UTC offsets and
// wall-clock → instant conversion with the same rules as Temporal's "compatible" mode.
import { OutpostError } from '../../shared/errors.ts';

const HOUR = 3_600_000;
const formats = new Map<string, Intl.DateTimeFormat>();
/** The runtime's canonical zone names, listed at the first check of a zone other than UTC. */
let canonical: Set<string> | null = null;

/**
 * UTC (the zone of a window or budget that names none) is computed without ICU: the first
 * Intl.DateTimeFormat of a process costs ~23 ms of CPU, which every command that loads a config
 * with UTC windows paid, `outpost status` included.
 */
const isUtc = (tz: string) => tz === 'UTC' || tz === 'Etc/UTC';

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (err) {
      throw new OutpostError('E_WINDOW_TIMEZONE', `unknown time zone "${tz}"`, { cause: err });
    }
    formats.set(tz, f);
  }
  return f;
}

/** Throws E_WINDOW_TIMEZONE unless `tz` is an IANA zone this runtime knows. */
export function checkTimeZone(tz: string): void {
  if (isUtc(tz)) return;
  // The runtime's canonical zone names cost ~2 ms to list; the first DateTimeFormat ~22 ms, which
  // every command that loads a config with such windows would pay only to validate it.
  canonical ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (!canonical.has(tz)) format(tz); // an alias (US/Eastern) or no zone at all: ICU decides
}

/** Wall-clock time at `instant` in `tz`, as milliseconds of a naive (UTC-based) date. */
export function wallTime(tz: string, instant: number): number {
  if (isUtc(tz)) return instant;
  const p: Record<string, number> = {};
  for (const part of format(tz).formatToParts(instant)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const ms = ((instant % 1000) + 1000) % 1000;
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + ms;
}

/** UTC offset of `tz` at `instant`, in milliseconds (east positive). */
export function offsetAt(tz: string, instant: number): number {
  return wallTime(tz, instant) - instant;
}

/**
 * The instant at which the wall clock in `tz` shows `local` (naive ms). A time skipped by a
 * spring-forward gap maps to the same clock reading after the jump (02:30 → 03:30); a time that
 * occurs twice at fall-back maps to the earlier occurrence.
 */
export function toInstant(tz: string, local: number): number {
  // The true instant lies within ±14 h of `local`; at most one transition falls in that span.
  const before = offsetAt(tz, local - 15 * HOUR);
  const after = offsetAt(tz, local + 15 * HOUR);
  const valid = [before, after].filter((o) => offsetAt(tz, local - o) === o).map((o) => local - o);
  if (valid.length > 0) return Math.min(...valid);
  return local - before;
}

/** Offset is constant over the whole span [fromLocal-15h, toLocal+15h] (no transition nearby). */
export function constantOffset(tz: string, fromLocal: number, toLocal: number): number | null {
  const a = offsetAt(tz, fromLocal - 15 * HOUR);
  const b = offsetAt(tz, toLocal + 15 * HOUR);
  return a === b ? a : null;
}
