// The update state machine as data: closed unions, ONE transition table, ONE resume table.
// Pure: no I/O. Handlers (handlers/) return an Event; only this table picks the next state.

export const STATES = [
  'preparing', // journaled; the target is checked not to be the running slot
  'writing', // head verified → target marked bad → verified blocks streamed in, checkpointed
  'verifying', // record the written slot; read it back first if this process did not write it
  'awaiting_install_window', // written and verified; waits (in process) until an install window is open
  'arming', // bootloader: target primary with N tries, old slot as fallback
  'rebooting', // reboot command runs
  'awaiting_boot', // reboot requested; nothing to do until the next start
  'booted', // after a start: which slot came up?
  'health_checking', // trial boot of the target: configured + pluggable checks
  'committing', // mark target good, raise the anti-rollback floor
  'reverting', // mark target bad; if it is running, reboot back to the old slot
  'rollback_rebooting', // reboot back to the old slot runs
  'awaiting_rollback_boot',
  'revert_pending', // the revert could not finish (boot env, reboot, save counter): retried at the next start; blocks new deployments
  'abandoning', // failure before arming: make sure the target stays bad
  'committed', // terminal
  'rolled_back', // terminal
  'failed', // terminal
] as const;
export type State = (typeof STATES)[number];

export const EVENTS = [
  'prepared',
  'written',
  'verified',
  'install_window_open',
  'armed',
  'reboot_requested',
  'reboot_pending', // started again on the old slot while the target is still armed: reboot never happened
  'booted_target',
  'booted_old', // the bootloader fell back: tries ran out
  'healthy',
  'unhealthy',
  'boot_changed', // committing found the checks passed in an earlier boot: check this boot again
  'committed',
  'reverted',
  'reboot_needed',
  'abandoned',
  'failed',
  'aborted',
  'cancelled', // a hub cancel of a deployment no process drives (its step is not running)
] as const;
export type Event = (typeof EVENTS)[number];

export type Outcome = 'committed' | 'rolled_back' | 'failed';
export const TERMINAL: Readonly<Record<Outcome, true>> = { committed: true, rolled_back: true, failed: true };

export function isTerminal(s: State): s is Outcome {
  return s in TERMINAL;
}

/**
 * Before arming the bootloader the old slot was never at risk: a cancel or an operator rollback
 * abandons, a surprise abandons. From `arming` on, the way back is a revert.
 */
export const BEFORE_ARMING: readonly State[] = ['preparing', 'writing', 'verifying', 'awaiting_install_window'];

export function isBeforeArming(s: State): boolean {
  return BEFORE_ARMING.includes(s);
}

/** What the hub hears about an ended deployment (shared/PROTOCOL.md `outcome.result`). */
export type ReportedResult = 'success' | 'failure' | 'rolled-back' | 'cancelled';

/** The one place that decides the reported result: a cancel the node carried out is `cancelled`. */
export function reportedResult(outcome: Outcome, error: { readonly code: string } | null): ReportedResult {
  if (outcome === 'committed') return 'success';
  if (error?.code === 'E_CANCELLED') return 'cancelled';
  return outcome === 'rolled_back' ? 'rolled-back' : 'failure';
}

/** Parked states wait for a reboot (or the next start); the runner stops there and the next start resumes. */
export function isParked(s: State): boolean {
  return s === 'awaiting_boot' || s === 'awaiting_rollback_boot' || s === 'revert_pending';
}

/**
 * Does entering `to` from `from` count toward the save counter? Waiting states cost nothing and
 * are re-entered once per restart (a node rebooted nightly must not lose a good download), and
 * the re-read of the slot after an interrupted wait is part of that wait.
 */
export function countsAsVisit(from: State, to: State): boolean {
  if (to === 'awaiting_install_window' || to === 'revert_pending') return false;
  return !(from === 'awaiting_install_window' && to === 'verifying');
}

type Table = { readonly [S in State]: Partial<Readonly<Record<Event, State>>> };

// prettier-ignore
export const TRANSITIONS: Table = {
  preparing:            { prepared: 'writing', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning' },
  writing:                { written: 'verifying', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning' },
  verifying:              { verified: 'awaiting_install_window', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning' },
  awaiting_install_window: { install_window_open: 'arming', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning' },
  arming:                 { armed: 'rebooting', failed: 'reverting', aborted: 'reverting' },
  rebooting:              { reboot_requested: 'awaiting_boot', failed: 'reverting', aborted: 'reverting' },
  awaiting_boot:          {},
  booted:                 { booted_target: 'health_checking', booted_old: 'reverting', reboot_pending: 'rebooting', failed: 'reverting', aborted: 'reverting' },
  health_checking:        { healthy: 'committing', unhealthy: 'reverting', failed: 'reverting', aborted: 'reverting' },
  committing:             { committed: 'committed', boot_changed: 'booted', failed: 'reverting', aborted: 'reverting' },
  reverting:              { reverted: 'rolled_back', reboot_needed: 'rollback_rebooting', failed: 'revert_pending', aborted: 'revert_pending' },
  rollback_rebooting:     { reboot_requested: 'awaiting_rollback_boot', failed: 'revert_pending', aborted: 'revert_pending' },
  awaiting_rollback_boot: {},
  revert_pending:         {},
  abandoning:             { abandoned: 'failed', failed: 'failed', aborted: 'failed' },
  committed:              {},
  rolled_back:            {},
  failed:                 {},
};

/**
 * State found in the journal at start-up → state to enter. Every reboot can change which slot
 * runs, so every post-arm state re-checks it first. A state missing here is unexpected: roll back.
 */
// prettier-ignore
export const RESUME: Readonly<Partial<Record<State, State>>> = {
  preparing: 'preparing',
  writing: 'writing', // continues at the first block not durably recorded
  verifying: 'verifying',
  awaiting_install_window: 'verifying', // read the slot back again (it may have changed while down), then wait again
  arming: 'arming',
  rebooting: 'booted',
  awaiting_boot: 'booted',
  booted: 'booted',
  health_checking: 'booted',
  committing: 'committing', // re-checks the booted slot and that this boot passed the checks
  reverting: 'reverting',
  rollback_rebooting: 'reverting',
  awaiting_rollback_boot: 'reverting',
  revert_pending: 'reverting',
  abandoning: 'abandoning',
  committed: 'committed',
  rolled_back: 'rolled_back',
  failed: 'failed',
};

export function next(state: State, event: Event): State {
  const to = TRANSITIONS[state][event];
  if (to !== undefined) return to;
  // An event the table does not expect is a bug or a surprise: take the safe path.
  return safeState(state);
}

/** Where a surprise leads: before arming the old slot was never at risk; after, roll back. */
export function safeState(state: State): State {
  if (isTerminal(state)) return state;
  return isBeforeArming(state) || state === 'abandoning' ? 'abandoning' : 'reverting';
}

export function resumeState(found: State): State {
  return RESUME[found] ?? safeState(found);
}

export function isState(v: unknown): v is State {
  return typeof v === 'string' && (STATES as readonly string[]).includes(v);
}
