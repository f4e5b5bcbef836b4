// An injected clock for window and gate tests: sleeps resolve only when the test advances time.
import type { Sleep } from '../../../agent/fetch/sleep.ts';

interface Timer {
  at: number;
  resolve: () => void;
}

export class VirtualClock {
  t: number;
  readonly #timers = new Set<Timer>();

  constructor(start: number) {
    this.t = start;
  }

  now = (): number => this.t;

  sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.t + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#timers.delete(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.add(timer);
    });

  /** Pending sleeps (for asserting that something is waiting). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due sleeps in order and letting their continuations run. */
  async advanceTo(t: number): Promise<void> {
    await settle();
    for (;;) {
      const due = [...this.#timers].filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.delete(due);
      this.t = Math.max(this.t, due.at);
      due.resolve();
      await settle();
    }
    this.t = t;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
