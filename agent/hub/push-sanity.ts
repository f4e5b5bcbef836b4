// Sanity limits on what a hub may set, on top of the window maths' own checks (cron syntax,
// zone, duration > 0). A push or offer can be well-formed and still starve a node: a window that
// never opens (cron "0 0 31 2 *") parks every download forever, a one-minute-a-year window
// nearly so, and a 1 s health-check timeout rolls back every good update. Refused before
// anything is stored or started, with a code. Documented in docs/hub.md (Sanity limits on pushes).
import { AgentError, isAgentError } from '../lib/errors.ts';
import type { Offer, PushedConfig, Window } from '../../shared/protocol/messages.ts';
import { nextStart, windowStatus } from '../window/window.ts';

export const SANITY = Object.freeze({
  /** Every window must start within this many days of now. */
  opensWithinDays: 366,
  /** A window list's first open period (from its next start) must last at least this long. */
  minOpenMinutes: 10,
  /** Floor for a pushed health-check timeout. */
  minHealthTimeoutS: 10,
});

const DAY_MS = 86_400_000;

/** Throws E_WINDOW_NEVER_OPENS / E_WINDOW_TOO_SHORT (or the window maths' E_WINDOW_*) naming `what[i]`. */
export function checkWindowSanity(list: readonly Window[], what: string, now: number): void {
  if (list.length === 0) return; // "always open"
  let first: number | null = null;
  list.forEach((w, i) => {
    let s: number | null;
    try {
      s = nextStart(w, now);
    } catch (err) {
      if (isAgentError(err)) throw new AgentError(err.code, `${what}[${i}]: ${err.message}`);
      throw err;
    }
    if (s === null || s - now > SANITY.opensWithinDays * DAY_MS) {
      throw new AgentError('E_WINDOW_NEVER_OPENS', `${what}[${i}]: "${w.cron}" (${w.timezone}) does not start within ${SANITY.opensWithinDays} days`);
    }
    first = first === null ? s : Math.min(first, s);
  });
  // Measured from a start, so a window that is open right now with a minute left is not held against it.
  const st = windowStatus(list, first!);
  const openMs = st.until === null ? Number.POSITIVE_INFINITY : st.until - first!;
  if (openMs < SANITY.minOpenMinutes * 60_000) {
    throw new AgentError('E_WINDOW_TOO_SHORT', `${what}: open for ${Math.round(openMs / 60_000 * 10) / 10} minutes at a time, less than the ${SANITY.minOpenMinutes} minutes a download or install needs`);
  }
}

/** A config.push this node can live with; throws a coded AgentError otherwise. */
export function checkPushSanity(c: PushedConfig, now: number): void {
  if (c.windows) checkWindowSanity(c.windows, 'windows', now);
  if (c.installWindows) checkWindowSanity(c.installWindows, 'installWindows', now);
  for (const h of c.healthChecks ?? []) {
    if (h.timeoutS !== undefined && h.timeoutS < SANITY.minHealthTimeoutS) {
      throw new AgentError('E_PUSH_HEALTH_CHECK', `health check "${h.name}": timeoutS ${h.timeoutS} is below the floor of ${SANITY.minHealthTimeoutS} s (it would roll back good updates)`);
    }
  }
}

/** The same window limits for an offer's own windows. */
export function checkOfferSanity(o: Pick<Offer, 'windows' | 'installWindows'>, now: number): void {
  if (o.windows) checkWindowSanity(o.windows, 'windows', now);
  if (o.installWindows) checkWindowSanity(o.installWindows, 'installWindows', now);
}
