// Operator actions on a rollout's state: pure, each either returns the next state or throws a
// RolloutError saying why it cannot happen now (E_ROLLOUT_STATE).
import { OutpostError, type ErrorCode } from '../../shared/errors.ts';
import type { RolloutState } from './types.ts';

export class RolloutError extends OutpostError {
  readonly status: number;
  constructor(code: ErrorCode, message: string, status = 409) {
    super(code, message);
    this.name = 'RolloutError';
    this.status = status;
  }
}

function must(ok: boolean, message: string): void {
  if (!ok) throw new RolloutError('E_ROLLOUT_STATE', message);
}

/** No new offers until resumed; offers already out continue. */
export function pause(s: RolloutState, reason: string): RolloutState {
  must(s.status === 'running', `cannot pause a ${s.status} rollout`);
  return { ...s, status: 'paused', reason: `paused by the operator${reason ? `: ${reason}` : ''}` };
}

/**
 * Offers go out again. The failures seen so far are the operator's call now: the threshold counts
 * only failures beyond them (otherwise a rollout paused by the threshold would pause again at once).
 */
export function resume(s: RolloutState, failuresSoFar: number): RolloutState {
  must(s.status === 'paused', `cannot resume a ${s.status} rollout`);
  return { ...s, status: 'running', reason: null, failureBaseline: Math.max(s.failureBaseline, failuresSoFar) };
}

/** Stops for good: no new offers, and offers not started yet are cancelled (the driver sends the cancels). */
export function abort(s: RolloutState, reason: string): RolloutState {
  // A completed rollout still offers to members that come back online: abort stops that too.
  must(s.status !== 'aborted', 'the rollout is already aborted');
  return { ...s, status: 'aborted', reason: `aborted by the operator${reason ? `: ${reason}` : ''}` };
}
