// Promise.all waits only until the first failure; work started together must also have stopped
// (no write outliving the caller's error, no handle closed under a read) before the caller goes on.

/** Waits for every promise, then throws the first failure in the given order, if any. */
export async function settleAll(work: ReadonlyArray<Promise<unknown>>): Promise<void> {
  for (const e of await Promise.allSettled(work)) if (e.status === 'rejected') throw e.reason;
}
