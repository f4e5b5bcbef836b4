// A state write (journal, checkpoint, bundle head, slot record) that fails because the state
// disk is full (ENOSPC, EDQUOT) or errs (EIO) may work a moment later: a log rotated, a temp
// file removed. Retried with backoff; when it still fails the runner ends the deployment before
// arming (or stops after arming) with a code, so the update service is never left busy.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.ts';
import { OutpostError } from '../../shared/errors.ts';

/** Pauses between tries of one state write: about 12 s in all, then the write counts as failed. */
export const STATE_WRITE_RETRY_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 4_000];

const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EIO']);

/** The errno (ENOSPC, EDQUOT, EIO) behind a failed state write, looking through causes; null: another failure. */
export function stateWriteErrno(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    // a bundle's failure that names its errno (a head that cannot be read back) is not the state disk's
    if (e instanceof OutpostError && e.code.startsWith('E_BUNDLE_')) return null;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT.has(code)) return code;
  }
  return null;
}

/** The outcome code of a state write that failed for good. */
export function stateWriteError(err: unknown, what: string): OutpostError {
  const errno = stateWriteErrno(err) ?? 'EIO';
  const full = errno === 'ENOSPC' || errno === 'EDQUOT';
  const why = (err as Error)?.message ?? String(err);
  return new OutpostError(full ? 'E_STATE_NO_SPACE' : 'E_STATE_WRITE', `cannot write ${what} (${errno}): ${why}`, { cause: err, retryable: true });
}

/**
 * Runs `write`, retrying while it fails with ENOSPC/EDQUOT/EIO; then throws E_STATE_NO_SPACE or
 * E_STATE_WRITE. Other failures pass through at once; an abort of `signal` ends the wait.
 */
export async function retryStateWrite<T>(what: string, write: () => Promise<T>, o: { log: Logger; signal?: AbortSignal; delays?: readonly number[] }): Promise<T> {
  const delays = o.delays ?? STATE_WRITE_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (stateWriteErrno(err) === null) throw err;
      if (attempt >= delays.length) throw stateWriteError(err, what);
      if (attempt === 0) o.log.warn(`cannot write ${what}; retrying`, { err, tries: delays.length + 1 });
      // A cancel or shutdown ends the retries: the caller decides what the abort means.
      await sleep(delays[attempt], undefined, o.signal ? { signal: o.signal } : {}).catch(() => {
        throw stateWriteError(err, what);
      });
    }
  }
}
