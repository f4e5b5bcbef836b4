// The error code registry: codes are typed, so a misspelt one does not compile; the rest of the
// checks (every code documented, every documented code registered) are in docs.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, isErrorCode } from '../../shared/error-codes.ts';
import { OutpostError, isOutpostError, wrapError } from '../../shared/errors.ts';

test('a code that is not registered does not compile', () => {
  // `tsc --noEmit -p .` fails on this file if the line below ever stops being a type error.
  // @ts-expect-error E_NOT_A_CODE is not in shared/error-codes.ts
  const e = new OutpostError('E_NOT_A_CODE', 'never thrown');
  assert.equal(isErrorCode(e.code), false);
  // @ts-expect-error the same for a comparison
  assert.equal(isOutpostError(e, 'E_UPDATE_BUSSY'), false);
});

test('every code is well formed and has a one-line meaning', () => {
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[EW]_[A-Z0-9]+(?:_[A-Z0-9]+)*$/);
    assert.ok(meaning.length > 10 && !meaning.includes('\n'), code);
  }
});

test('isErrorCode accepts registered codes only', () => {
  assert.equal(isErrorCode('E_UPDATE_BUSY'), true);
  assert.equal(isErrorCode('E_UPDATE'), false);
  assert.equal(isErrorCode('toString'), false);
  assert.equal(isErrorCode(42), false);
});

test('wrapError keeps the code of an OutpostError and gives others the new one', () => {
  const inner = new OutpostError('E_SLOT_WRITE', 'disk gone', { retryable: true });
  const kept = wrapError(inner, 'E_UPDATE_FAILED', 'writing slot B');
  assert.deepEqual([kept.code, kept.retryable, kept.message], ['E_SLOT_WRITE', true, 'writing slot B: disk gone']);
  const wrapped = wrapError(new Error('EIO'), 'E_UPDATE_FAILED', 'writing slot B');
  assert.deepEqual([wrapped.code, wrapped.retryable, wrapped.message], ['E_UPDATE_FAILED', false, 'writing slot B: EIO']);
});
