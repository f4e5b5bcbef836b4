// One build at a time in dist/: the binary tests run in parallel and each may trigger a build.
// The agent's process lock (pid + boot id, stale holders replaced safely), waited for here
// instead of refused: a second build simply runs after the first.
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, type ProcessLock } from '../../agent/lib/process-lock.ts';
import { isOutpostError } from '../../shared/errors.ts';

export async function withLock<T>(file: string, fn: () => Promise<T>, waitMs = 10 * 60_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  let lock: ProcessLock;
  for (;;) {
    try {
      lock = await acquireLock(file, 'the build', 'E_BUILD_LOCK');
      break;
    } catch (err) {
      if (!isOutpostError(err, 'E_BUILD_LOCK') || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
