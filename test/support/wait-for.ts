// The one way tests wait on a condition: polling with a deadline, never a timing assertion.
// Shared CI machines run at load 20+, where a process start alone can take 10 s, so no wait is
// shorter than a minute.

export interface WaitOptions {
  /** Poll interval (default 50 ms). */
  readonly everyMs?: number;
  /** Said on timeout after the last error: what the condition's side printed (gpsfake's stderr, say). */
  readonly detail?: () => string;
}

/**
 * Polls `check` until it returns a truthy value (returned) or `timeoutMs` (at least a minute)
 * passes. A check that throws counts as "not yet"; its last error is in the timeout's message.
 */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 60_000, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + Math.max(timeoutMs, 60_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last ? `: ${(last as Error).message}` : '';
      throw new Error(`timed out waiting for ${what}${why}${options.detail ? `: ${options.detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 50));
  }
}
