// Runs update steps only while downloads are allowed. At window close (or a spent budget) the
// running step is stopped the way a shutdown stops it — the journal keeps the deployment and its
// block progress, nothing is failed or rolled back — and at the next open it continues from there.
// Below fetch/ and update/: it names only the shapes it uses (the download gate's, a step result's).
import type { Logger } from '../log/logger.ts';

/** The part of the download gate (agent/fetch/download-gate.ts) the scheduler waits on. */
export interface WindowGate {
  waitOpen(signal: AbortSignal): Promise<void>;
  session(signal: AbortSignal): { readonly signal: AbortSignal; end(): void };
  flush(): Promise<void>;
}

/** Where a step stopped; `stopped` is a step ended by `stop()` (the journal keeps it). */
export interface StepResult {
  readonly kind: string;
}

export interface Steppable<R extends StepResult> {
  /** Stops the running step; the journal keeps it (what `stop()` of the update service does). */
  stop(): void;
  /** Continues the journal's deployment (what `resumeAfterBoot()` does). */
  resume(): Promise<R | null>;
}

/**
 * Starts with `first()` once the gate is open and keeps resuming after each window close until
 * the deployment parks, ends, or `signal` aborts (then the last result is returned).
 */
export async function runInWindows<R extends StepResult>(
  gate: WindowGate, service: Steppable<R>, first: () => Promise<R | null>, signal: AbortSignal, log?: Logger,
  /** False once the step no longer uses the network (verifying, install window): a close then lets it run on. */
  downloading: () => boolean = () => true,
): Promise<R | null> {
  let step = first;
  for (;;) {
    await gate.waitOpen(signal);
    const session = gate.session(signal);
    let paused = false;
    const onClose = () => {
      if (signal.aborted) return;
      if (!downloading()) {
        log?.info('download window closed after the download; the deployment carries on');
        return;
      }
      paused = true;
      log?.info('download paused by the gate', { reason: (session.signal.reason as Error)?.message });
      service.stop();
    };
    session.signal.addEventListener('abort', onClose, { once: true });
    let result: R | null;
    try {
      result = await step();
    } finally {
      session.signal.removeEventListener('abort', onClose);
      session.end();
      await gate.flush().catch((err) => log?.warn('cannot save the byte budget', { error: err }));
    }
    if (!paused || result?.kind !== 'stopped') return result;
    step = () => service.resume();
  }
}
