// Abortable waits: every wait in the fetcher ends on its timer or on the signal, never hangs.
import { setTimeout as delay } from 'node:timers/promises';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Real-time sleep; rejects with the signal's reason when aborted. */
export const realSleep: Sleep = async (ms, signal) => {
  signal?.throwIfAborted();
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
};
