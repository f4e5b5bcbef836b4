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
  // Not from handlers: the service and the runner, each still a row of the table.
  'started', // a new deployment (from NONE)
  'recovered_revert', // a corrupt journal replaced: the running slot is on trial and a proven committed slot waits (from NONE)
  'recovered_nothing', // a corrupt journal replaced: nothing safe to undo (from NONE)
  'operator_commit', // `outpost commit` on the trial boot of the target
  'operator_rollback', // `outpost rollback` of a deployment in progress
  'exhausted', // the save counter refuses another entry of this state (E_UPDATE_LOOP)
  'state_write_failed', // the journal could not be written even after retries (E_STATE_NO_SPACE / E_STATE_WRITE)
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

/** The row of "no deployment yet": where a new deployment and a recovery journal begin. */
export const NONE = 'none';
export type From = State | typeof NONE;

type Table = { readonly [S in From]: Partial<Readonly<Record<Event, State>>> };

/** Events that only the service or runner raise (never a handler). */
export const SERVICE_EVENTS: readonly Event[] = ['started', 'recovered_revert', 'recovered_nothing', 'operator_commit', 'operator_rollback', 'exhausted', 'state_write_failed'];

// Rows beyond the handlers' events: an operator commit is taken only on the trial boot of the
// target; an operator rollback abandons before arming and reverts after (a revert_pending one
// retries); a state the save counter refuses goes the safe way, and the safe state itself, when
// exhausted, ends (before arming) or parks (after); a journal that cannot be written even after
// retries ends a deployment before arming (after arming the runner stops instead and the journal
// on disk resumes at the next start: no row, no state change).
// prettier-ignore
export const TRANSITIONS: Table = {
  none:                   { started: 'preparing', recovered_revert: 'reverting', recovered_nothing: 'failed' },
  preparing:              { prepared: 'writing', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning', operator_rollback: 'abandoning', exhausted: 'abandoning', state_write_failed: 'abandoning' },
  writing:                { written: 'verifying', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning', operator_rollback: 'abandoning', exhausted: 'abandoning', state_write_failed: 'abandoning' },
  verifying:              { verified: 'awaiting_install_window', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning', operator_rollback: 'abandoning', exhausted: 'abandoning', state_write_failed: 'abandoning' },
  awaiting_install_window: { install_window_open: 'arming', failed: 'abandoning', aborted: 'abandoning', cancelled: 'abandoning', operator_rollback: 'abandoning', exhausted: 'abandoning', state_write_failed: 'abandoning' },
  arming:                 { armed: 'rebooting', failed: 'reverting', aborted: 'reverting', operator_rollback: 'reverting', exhausted: 'reverting' },
  rebooting:              { reboot_requested: 'awaiting_boot', failed: 'reverting', aborted: 'reverting', operator_rollback: 'reverting', exhausted: 'reverting' },
  awaiting_boot:          { operator_commit: 'committing', operator_rollback: 'reverting', exhausted: 'reverting' },
  booted:                 { booted_target: 'health_checking', booted_old: 'reverting', reboot_pending: 'rebooting', failed: 'reverting', aborted: 'reverting', operator_commit: 'committing', operator_rollback: 'reverting', exhausted: 'reverting' },
  health_checking:        { healthy: 'committing', unhealthy: 'reverting', failed: 'reverting', aborted: 'reverting', operator_commit: 'committing', operator_rollback: 'reverting', exhausted: 'reverting' },
  committing:             { committed: 'committed', boot_changed: 'booted', failed: 'reverting', aborted: 'reverting', operator_commit: 'committing', operator_rollback: 'reverting', exhausted: 'reverting' },
  reverting:              { reverted: 'rolled_back', reboot_needed: 'rollback_rebooting', failed: 'revert_pending', aborted: 'revert_pending', operator_rollback: 'reverting', exhausted: 'revert_pending' },
  rollback_rebooting:     { reboot_requested: 'awaiting_rollback_boot', failed: 'revert_pending', aborted: 'revert_pending', operator_rollback: 'reverting', exhausted: 'reverting' },
  awaiting_rollback_boot: { operator_rollback: 'reverting', exhausted: 'reverting' },
  revert_pending:         { operator_rollback: 'reverting' },
  // An operator rollback while abandoning reverts (marks the target bad; it never ran).
  abandoning:             { abandoned: 'failed', failed: 'failed', aborted: 'failed', operator_rollback: 'reverting', exhausted: 'failed', state_write_failed: 'failed' },
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

/** A handler's event → next state. An event the table does not expect is a bug or a surprise: take the safe path. */
export function next(state: State, event: Event): State {
  return TRANSITIONS[state][event] ?? safeState(state);
}

/** The row for a service or runner event, or null when the table has none (the caller refuses). */
export function row(from: From, event: Event): State | null {
  return TRANSITIONS[from][event] ?? null;
}

/** States in which an event has a row (e.g. where an operator commit is taken). */
export function statesWith(event: Event): State[] {
  return STATES.filter((s) => TRANSITIONS[s][event] !== undefined);
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
