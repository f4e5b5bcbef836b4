// Bounds for the trusted time floor.

/** This agent cannot run before it was built: the lowest floor any node starts with. Raise at release. */
export const BUILD_TIME_FLOOR_MS = Date.UTC(2026, 10, 1);

/** Times outside this range are never accepted into the floor (a floor only rises, so a bogus
 *  far-future value from a buggy hub would be permanent). */
export const MIN_PLAUSIBLE_MS = Date.UTC(2020, 0, 1);
export const MAX_PLAUSIBLE_MS = Date.UTC(2200, 0, 1);
