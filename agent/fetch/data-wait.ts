// The one wait both body readers share: a reader with nothing queued waits for the network to
// deliver more (or end, or fail); the stall deadline runs only while it waits, so a slow consumer
// is never mistaken for a stalled link.
import { OutpostError } from '../../shared/errors.ts';

export class DataWait {
  #wake: (() => void) | null = null;

  /** Something arrived (data, end, error): the waiting reader, if any, goes on. */
  notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Until the next notify(), or `deadlineMs` without one: then `onStall` gets E_FETCH_STALL first. */
  wait(deadlineMs: number, onStall: (err: OutpostError) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        onStall(new OutpostError('E_FETCH_STALL', `no data for ${deadlineMs} ms`, { retryable: true }));
        resolve();
      }, deadlineMs);
      this.#wake = () => (clearTimeout(timer), resolve());
    });
  }
}
