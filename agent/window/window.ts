// Bandwidth and install windows: pure maths over an injected instant. A window opens at every
// start of its cron expression (evaluated on the wall clock of its time zone) and stays open for
// `durationMinutes` of real elapsed time. Overlapping or touching windows merge into one open
// period. No windows at all means "always open". node-cron is not needed: callers sleep until
// the boundary this module computes.
import { parseCron, cronDayMatches, type CronSchedule } from './cron.ts';
import { checkTimeZone, constantOffset, toInstant, wallTime } from './tz.ts';
import { OutpostError } from '../../shared/errors.ts';

export interface WindowSpec {
  readonly cron: string;
  readonly durationMinutes: number;
  readonly timezone: string;
  /** Rate cap while this window is open; null or absent: no cap from this window. */
  readonly maxBytesPerSecond?: number | null;
}

interface Compiled {
  readonly spec: WindowSpec;
  readonly cron: CronSchedule;
  readonly durationMs: number;
}

export interface WindowStatus {
  readonly open: boolean;
  /** Open: when the merged open period ends (null: not within 40 days). Closed: next start (null: never). */
  readonly until: number | null;
}

const DAY = 86_400_000;
const MINUTE = 60_000;
/** Far enough for "29 February on a Monday"-style expressions. */
const SEARCH_DAYS = 366 * 8 + 2;
/** A merged period longer than this counts as "never closes" (the caller re-checks long before). */
const MERGE_HORIZON = 40 * DAY;
/**
 * So does a chain of more merges than this: "* * * * *" for 1 minute would otherwise take 57,600
 * steps to reach the horizon and block the event loop (seen with a hub-pushed "always" window).
 */
const MERGE_STEPS = 256;

const compiled = new WeakMap<WindowSpec, Compiled>();

/** Validates a window (E_WINDOW_CRON / E_WINDOW_TIMEZONE / E_WINDOW_DURATION) and caches its parse. */
export function compileWindow(spec: WindowSpec): Compiled {
  let c = compiled.get(spec);
  if (c) return c;
  if (!Number.isFinite(spec.durationMinutes) || spec.durationMinutes <= 0) {
    throw new OutpostError('E_WINDOW_DURATION', `window "${spec.cron}": durationMinutes must be > 0`);
  }
  checkTimeZone(spec.timezone);
  c = { spec, cron: parseCron(spec.cron), durationMs: Math.round(spec.durationMinutes * MINUTE) };
  compiled.set(spec, c);
  return c;
}

/** Start instants of one local calendar day (naive ms at local midnight), ascending. */
function startsOnDay(w: Compiled, dayLocal: number): number[] {
  const d = new Date(dayLocal);
  if (!cronDayMatches(w.cron, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCDay())) return [];
  const tz = w.spec.timezone;
  const fixed = constantOffset(tz, dayLocal, dayLocal + DAY);
  const out: number[] = [];
  for (const h of w.cron.hours) {
    for (const m of w.cron.minutes) {
      const local = dayLocal + h * 3_600_000 + m * MINUTE;
      out.push(fixed === null ? toInstant(tz, local) : local - fixed);
    }
  }
  // A skipped time moved past the gap can land after later readings: sort and dedupe.
  return [...new Set(out)].sort((a, b) => a - b);
}

function localDay(w: Compiled, instant: number): number {
  const wall = wallTime(w.spec.timezone, instant);
  return wall - (((wall % DAY) + DAY) % DAY);
}

/** Earliest start strictly after `t`, or null. */
export function nextStart(spec: WindowSpec, t: number): number | null {
  const w = compileWindow(spec);
  const first = localDay(w, t) - DAY;
  let best: number | null = null;
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const found = startsOnDay(w, first + i * DAY).find((s) => s > t);
    if (found !== undefined && (best === null || found < best)) best = found;
    // Look one day past the first hit: DST shifts can reorder starts across midnight.
    if (best !== null && first + i * DAY > wallTime(w.spec.timezone, best)) break;
  }
  return best;
}

/** Latest start at or before `t`, or null. */
export function lastStart(spec: WindowSpec, t: number): number | null {
  const w = compileWindow(spec);
  const first = localDay(w, t) + DAY;
  let best: number | null = null;
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const day = first - i * DAY;
    const starts = startsOnDay(w, day).filter((s) => s <= t);
    const found = starts[starts.length - 1];
    if (found !== undefined && (best === null || found > best)) best = found;
    if (best !== null && day + DAY < wallTime(w.spec.timezone, best)) break;
  }
  return best;
}

/** End of the occurrence of `spec` that covers `t`, or null when it is not open at `t`. */
function openEnd(spec: WindowSpec, t: number): number | null {
  const s = lastStart(spec, t);
  if (s === null) return null;
  const end = s + compileWindow(spec).durationMs;
  return t < end ? end : null;
}

export function isOpen(windows: readonly WindowSpec[], t: number): boolean {
  return windows.length === 0 || windows.some((w) => openEnd(w, t) !== null);
}

/** When the merged open period containing `t` ends (null: it does not end within the horizon). */
function mergedClose(windows: readonly WindowSpec[], t: number): number | null {
  let end = -Infinity;
  for (const w of windows) end = Math.max(end, openEnd(w, t) ?? -Infinity);
  if (end === -Infinity) throw new OutpostError('E_WINDOW_STATE', 'mergedClose called while closed');
  for (let extended = true, steps = 0; extended; steps++) {
    extended = false;
    if (end - t > MERGE_HORIZON || steps > MERGE_STEPS) return null;
    for (const w of windows) {
      // A window starting at or before the current end (touching counts) extends the period.
      const s = lastStart(w, end);
      const e = s === null ? null : s + compileWindow(w).durationMs;
      if (e !== null && e > end) {
        end = e;
        extended = true;
      }
    }
  }
  return end;
}

export function windowStatus(windows: readonly WindowSpec[], t: number): WindowStatus {
  if (windows.length === 0) return { open: true, until: null };
  if (isOpen(windows, t)) return { open: true, until: mergedClose(windows, t) };
  return { open: false, until: nextOpen(windows, t) };
}

/** `t` itself when open, else the next time any window opens (null: never). */
export function nextOpen(windows: readonly WindowSpec[], t: number): number | null {
  if (isOpen(windows, t)) return t;
  let best: number | null = null;
  for (const w of windows) {
    const s = nextStart(w, t);
    if (s !== null && (best === null || s < best)) best = s;
  }
  return best;
}

/**
 * Rate cap at `t`: the most generous of the open windows (null = uncapped), combined with a
 * global cap. Closed → 0.
 */
export function rateAt(windows: readonly WindowSpec[], t: number, globalCap: number | null = null): number | null {
  let rate: number | null | undefined;
  if (windows.length === 0) rate = null;
  for (const w of windows) {
    if (openEnd(w, t) === null) continue;
    const r = w.maxBytesPerSecond ?? null;
    rate = rate === undefined ? r : rate === null || r === null ? null : Math.max(rate, r);
  }
  if (rate === undefined) return 0;
  if (globalCap === null) return rate;
  return rate === null ? globalCap : Math.min(rate, globalCap);
}

/** Next instant after `t` at which any single window opens or closes (rate or state may change). */
export function nextChange(windows: readonly WindowSpec[], t: number): number | null {
  let best: number | null = null;
  const take = (x: number | null) => {
    if (x !== null && x > t && (best === null || x < best)) best = x;
  };
  for (const w of windows) {
    take(nextStart(w, t));
    take(openEnd(w, t));
  }
  return best;
}
