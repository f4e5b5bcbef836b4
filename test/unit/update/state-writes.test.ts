// The retry rule for state writes: ENOSPC/EDQUOT/EIO (also behind an E_STATE_WRITE cause) are
// retried with the given pauses, then coded; anything else passes through at once; an abort
// ends the pauses with the coded error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryStateWrite, stateWriteErrno } from '../../../agent/update/state-writes.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
const log = silentLogger();

test('a write that fails with ENOSPC a few times and then works is retried to success', async () => {
  let calls = 0;
  const r = await retryStateWrite('x', async () => {
    if (++calls < 3) throw new OutpostError('E_STATE_WRITE', 'cannot write x', { cause: errno('ENOSPC') });
    return 'ok';
  }, { log, delays: [1, 1, 1] });
  assert.deepEqual([r, calls], ['ok', 3]);
});

test('retries run out: ENOSPC and EDQUOT are E_STATE_NO_SPACE, EIO is E_STATE_WRITE, all retryable', async () => {
  for (const [code, want] of [['ENOSPC', 'E_STATE_NO_SPACE'], ['EDQUOT', 'E_STATE_NO_SPACE'], ['EIO', 'E_STATE_WRITE']] as const) {
    let calls = 0;
    await assert.rejects(retryStateWrite('x', async () => { calls++; throw errno(code); }, { log, delays: [1, 1] }), (e) => isOutpostError(e, want) && e.retryable);
    assert.equal(calls, 3, code);
  }
});

test('other failures are not retried', async () => {
  let calls = 0;
  await assert.rejects(retryStateWrite('x', async () => { calls++; throw errno('EROFS'); }, { log, delays: [1, 1] }), { code: 'EROFS' });
  assert.equal(calls, 1);
  assert.equal(stateWriteErrno(new OutpostError('E_STATE_WRITE', 'read-only', { cause: errno('EROFS') })), null);
  // a bundle head that cannot be read back (EIO) is not the state disk failing: passed on at once
  calls = 0;
  const unreadable = new OutpostError('E_BUNDLE_INDEX_PAGE', 'the bundle head cannot be read back', { cause: errno('EIO') });
  await assert.rejects(retryStateWrite('x', async () => { calls++; throw unreadable; }, { log, delays: [1, 1] }), (e) => e === unreadable);
  assert.equal(calls, 1);
  assert.equal(stateWriteErrno(new OutpostError('E_LOCK', 'cannot create lock', { cause: errno('ENOSPC') })), 'ENOSPC');
});

test('an abort ends the pauses at once with the coded error', async () => {
  const ac = new AbortController();
  const started = performance.now();
  const p = retryStateWrite('x', async () => { throw errno('ENOSPC'); }, { log, signal: ac.signal, delays: [600_000] });
  setImmediate(() => ac.abort('cancel'));
  await assert.rejects(p, (e) => isOutpostError(e, 'E_STATE_NO_SPACE'));
  assert.ok(performance.now() - started < 60_000, 'did not wait out the pause');
});
