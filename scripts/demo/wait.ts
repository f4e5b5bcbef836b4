// Polling with a deadline: the demo's one overall AbortSignal ends every wait.
import { setTimeout as sleep } from 'node:timers/promises';

export class DemoFailure extends Error {}

/** "timed out" for the overall deadline, else what stopped the demo (Ctrl-C). */
export function abortReason(signal: AbortSignal): string {
  const r = signal.reason as Error | undefined;
  return r instanceof Error && r.name !== 'TimeoutError' ? r.message : 'timed out';
}

/**
 * Calls `check` every `everyMs` until it returns a truthy value. `failed` is checked too, so a
 * dead agent ends the wait at once instead of at the deadline.
 */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, o: { signal: AbortSignal; failed?: () => Error | null; everyMs?: number }): Promise<NonNullable<T>> {
  for (;;) {
    const broken = o.failed?.();
    if (broken) throw new DemoFailure(`while waiting for ${what}: ${broken.message}`);
    if (o.signal.aborted) throw new DemoFailure(`${abortReason(o.signal)} while waiting for ${what}`);
    const v = await check();
    if (v) return v as NonNullable<T>;
    await sleep(o.everyMs ?? 200, undefined, { signal: o.signal }).catch(() => {});
  }
}
