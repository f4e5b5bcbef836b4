// Sanity limits on what a hub may set, on top of the window maths' own checks (cron syntax,
// zone, duration > 0). A push or offer can be well-formed and still starve a node: a window that
// never opens (cron "0 0 31 2 *") parks every download forever, a one-minute-a-year window
// nearly so, and a 1 s health-check timeout rolls back every good update. Refused before
// anything is stored or started, with a code. Documented in docs/hub.md (Sanity limits on pushes).
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import type { Offer, PushedConfig, Window } from '../../shared/protocol/messages.ts';
import { lastStart, nextStart } from '../window/window.ts';

export const SANITY = Object.freeze({
  /** Every window must start within this many days of now. */
  opensWithinDays: 366,
  /** A window list must stay open this long in a row from some window's next start. */
  minOpenMinutes: 10,
  /** Floor for a pushed health-check timeout. */
  minHealthTimeoutS: 10,
});

const DAY_MS = 86_400_000;

/**
 * Open without a gap over [t0, t0 + needMs)? Walks forward window end by window end; short
 * windows that touch count as one. Cheap on purpose: the command is handled on the event loop
 * that also keeps the hub link alive (the window maths' merge horizon of 40 days is not needed).
 */
function openFor(list: readonly Window[], t0: number, needMs: number): boolean {
  let covered = t0;
  for (let steps = 0; covered < t0 + needMs && steps < 64; steps++) {
    let next = covered;
    for (const w of list) {
      const s = lastStart(w, covered);
      if (s !== null) next = Math.max(next, s + Math.round(w.durationMinutes * 60_000));
    }
    if (next === covered) return false;
    covered = next;
  }
  return covered >= t0 + needMs;
}

/** Throws E_WINDOW_NEVER_OPENS / E_WINDOW_TOO_SHORT (or the window maths' E_WINDOW_*) naming `what[i]`. */
export function checkWindowSanity(list: readonly Window[], what: string, now: number): void {
  if (list.length === 0) return; // "always open"
  const starts = list.map((w, i) => {
    let s: number | null;
    try {
      s = nextStart(w, now);
    } catch (err) {
      if (isOutpostError(err)) throw new OutpostError(err.code, `${what}[${i}]: ${err.message}`);
      throw err;
    }
    if (s === null || s - now > SANITY.opensWithinDays * DAY_MS) {
      throw new OutpostError('E_WINDOW_NEVER_OPENS', `${what}[${i}]: "${w.cron}" (${w.timezone}) does not start within ${SANITY.opensWithinDays} days`);
    }
    return s;
  });
  const needMs = SANITY.minOpenMinutes * 60_000;
  // One long enough window settles it; only lists of short ones need the walk.
  if (list.some((w) => w.durationMinutes * 60_000 >= needMs)) return;
  if (!starts.some((s) => openFor(list, s, needMs))) {
    throw new OutpostError('E_WINDOW_TOO_SHORT', `${what}: never open ${SANITY.minOpenMinutes} minutes in a row (a download or install needs that long)`);
  }
}

/** A config.push this node can live with; throws a coded OutpostError otherwise. */
export function checkPushSanity(c: PushedConfig, now: number): void {
  if (c.windows) checkWindowSanity(c.windows, 'windows', now);
  if (c.installWindows) checkWindowSanity(c.installWindows, 'installWindows', now);
  for (const h of c.healthChecks ?? []) {
    if (h.timeoutS !== undefined && h.timeoutS < SANITY.minHealthTimeoutS) {
      throw new OutpostError('E_PUSH_HEALTH_CHECK', `health check "${h.name}": timeoutS ${h.timeoutS} is below the floor of ${SANITY.minHealthTimeoutS} s (it would roll back good updates)`);
    }
  }
}

/** The same window limits for an offer's own windows. */
export function checkOfferSanity(o: Pick<Offer, 'windows' | 'installWindows'>, now: number): void {
  if (o.windows) checkWindowSanity(o.windows, 'windows', now);
  if (o.installWindows) checkWindowSanity(o.installWindows, 'installWindows', now);
}
