// Exponential backoff with full jitter (AWS architecture blog): delay = random(0, min(cap, base·2^n)).
// Full jitter spreads a fleet's retries evenly instead of in synchronized waves.
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export function fullJitterDelay(attempt: number, { baseMs, capMs, random = Math.random }: BackoffOptions): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}
