// Bounds for the trusted time floor.

/** This agent cannot run before it was built: the lowest floor any node starts with. Raise at release. */
export const BUILD_TIME_FLOOR_MS = Date.UTC(2026, 10, 1);

/** Times outside this range are never accepted into the floor (a floor only rises, so a bogus
 *  far-future value from a buggy hub would be permanent). */
export const MIN_PLAUSIBLE_MS = Date.UTC(2020, 0, 1);
export const MAX_PLAUSIBLE_MS = Date.UTC(2200, 0, 1);

/**
 * Hub time is only as trustworthy as the link it came over (the hub signs nothing). It may lift
 * the floor at most this far beyond the highest signed time (build time, verified bundles), unless
 * the system clock agrees with it. A day: enough for a node without RTC to get TLS and windows
 * roughly right between bundles, too little for a lying hub to move a night window into the day
 * for long (and a synchronised clock always wins over the floor anyway).
 */
export const MAX_HUB_LEAD_MS = 86_400_000;
/** Hub time and system clock closer than this corroborate each other. */
export const HUB_CLOCK_AGREEMENT_MS = 10 * 60_000;
