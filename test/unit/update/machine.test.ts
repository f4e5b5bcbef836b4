import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS, RESUME, STATES, TRANSITIONS, countsAsVisit, isParked, isTerminal, next, resumeState, safeState, type State } from '../../../agent/update/machine.ts';
import { HANDLERS } from '../../../agent/update/handlers/index.ts';

const PRE_ARM: State[] = ['preparing', 'writing', 'verifying', 'awaiting_install_window', 'abandoning'];

function reachable(from: State, without: ReadonlySet<State> = new Set()): Set<State> {
  const seen = new Set<State>([from]);
  const todo = [from];
  while (todo.length) {
    const s = todo.pop()!;
    // A resume after a reboot is an edge too: the machine can continue from there.
    const targets = [...Object.values(TRANSITIONS[s]), RESUME[s]].filter((x): x is State => x !== undefined);
    for (const t of targets) if (!seen.has(t) && !without.has(t)) (seen.add(t), todo.push(t));
  }
  return seen;
}

test('every active state has a handler and handles failed and aborted', () => {
  for (const s of STATES) {
    if (isTerminal(s) || isParked(s)) {
      assert.equal(HANDLERS[s], undefined, `${s} must not act`);
      assert.deepEqual(TRANSITIONS[s], {}, `${s} has no way out but resume`);
      continue;
    }
    assert.equal(typeof HANDLERS[s], 'function', `${s} has a handler`);
    assert.ok(TRANSITIONS[s].failed, `${s} handles failed`);
    assert.ok(TRANSITIONS[s].aborted, `${s} handles aborted`);
  }
});

test('the tables name only known states and events', () => {
  for (const s of STATES) {
    for (const [e, t] of Object.entries(TRANSITIONS[s])) {
      assert.ok((EVENTS as readonly string[]).includes(e), `${s}: event ${e}`);
      assert.ok(STATES.includes(t), `${s} --${e}--> ${t}`);
    }
    assert.ok(RESUME[s] && STATES.includes(RESUME[s]), `resume entry for ${s}`);
  }
});

test('every state can end in an outcome (never stuck)', () => {
  for (const s of STATES) {
    const r = reachable(s);
    assert.ok(r.has('committed') || r.has('rolled_back') || r.has('failed'), `${s} reaches an outcome`);
  }
});

test('install ordering: no commit without marking bad, writing, read-back, arming, reboot, checks', () => {
  for (const step of ['writing', 'verifying', 'awaiting_install_window', 'arming', 'rebooting', 'booted', 'health_checking', 'committing'] as const) {
    assert.ok(!reachable('preparing', new Set([step])).has('committed'), `committed unreachable without ${step}`);
  }
  assert.ok(reachable('preparing').has('committed'));
});

test('committed is entered only from committing', () => {
  for (const s of STATES) {
    for (const t of Object.values(TRANSITIONS[s])) if (t === 'committed') assert.equal(s, 'committing');
  }
});

test('failures before arming abandon, after arming revert', () => {
  for (const s of STATES) {
    const f = TRANSITIONS[s].failed;
    if (!f || s === 'abandoning') continue;
    const want = PRE_ARM.includes(s) ? 'abandoning' : REVERT.includes(s) ? 'revert_pending' : 'reverting';
    assert.equal(f, want, s);
    assert.equal(TRANSITIONS[s].aborted, want, `${s} aborted`);
  }
});

const REVERT: State[] = ['reverting', 'rollback_rebooting'];
const POST_ARM = STATES.filter((s) => !PRE_ARM.includes(s) && !isTerminal(s));

test('a failed revert never ends the deployment: it parks and retries (failed-revert regression)', () => {
  // After arming the only outcomes are committed and rolled_back: `failed` would let the next
  // offer overwrite the only committed slot while the rejected one is still primary.
  for (const s of POST_ARM) assert.ok(!reachable(s).has('failed'), `${s} cannot reach failed`);
  assert.equal(next('reverting', 'failed'), 'revert_pending');
  assert.equal(next('rollback_rebooting', 'failed'), 'revert_pending');
  assert.equal(isParked('revert_pending'), true);
  assert.equal(resumeState('revert_pending'), 'reverting');
  assert.equal(safeState('revert_pending'), 'reverting');
});

test('a power cut during commit re-runs the checks in the new boot (boot_changed)', () => {
  assert.equal(next('committing', 'boot_changed'), 'booted');
  assert.equal(resumeState('committing'), 'committing');
  // committed still only after committing, and committing only after health_checking
  assert.ok(!reachable('booted', new Set(['health_checking'])).has('committed'));
});

test('save counter: waiting and the re-read after an interrupted wait do not count', () => {
  assert.equal(countsAsVisit('verifying', 'awaiting_install_window'), false);
  assert.equal(countsAsVisit('awaiting_install_window', 'verifying'), false);
  assert.equal(countsAsVisit('reverting', 'revert_pending'), false);
  assert.equal(countsAsVisit('writing', 'verifying'), true);
  assert.equal(countsAsVisit('verifying', 'verifying'), true); // a crash loop in verifying still counts
  assert.equal(countsAsVisit('revert_pending', 'reverting'), true); // each retry of a revert counts
  for (const s of STATES) if (s !== 'awaiting_install_window' && s !== 'revert_pending') assert.equal(countsAsVisit('booted', s), true, s);
});

test('resume never goes back to a pre-arm state from a post-arm one', () => {
  for (const s of STATES) {
    if (PRE_ARM.includes(s) || isTerminal(s)) continue;
    assert.ok(!PRE_ARM.includes(resumeState(s)), `${s} resumes at ${resumeState(s)}`);
  }
  // every reboot-crossing state re-checks which slot runs first
  for (const s of ['rebooting', 'awaiting_boot', 'health_checking'] as const) assert.equal(resumeState(s), 'booted');
  for (const s of ['rollback_rebooting', 'awaiting_rollback_boot'] as const) assert.equal(resumeState(s), 'reverting');
});

test('an unexpected event takes the safe path', () => {
  assert.equal(next('writing', 'healthy'), 'abandoning');
  assert.equal(next('health_checking', 'written'), 'reverting');
  assert.equal(next('committed', 'failed'), 'committed');
  assert.equal(safeState('awaiting_boot'), 'reverting');
});

test('install window: verified waits for it, only an open window arms; a restart waits again', () => {
  assert.equal(TRANSITIONS.verifying.verified, 'awaiting_install_window');
  assert.equal(TRANSITIONS.awaiting_install_window.install_window_open, 'arming');
  // Nothing else leads to arming: no path around the install window.
  for (const s of STATES) {
    for (const [e, t] of Object.entries(TRANSITIONS[s])) if (t === 'arming') assert.deepEqual([s, e], ['awaiting_install_window', 'install_window_open']);
  }
  // A restart reads the slot back again before waiting (it may have changed while down).
  assert.equal(resumeState('awaiting_install_window'), 'verifying');
  // Waiting is in process, not parked: a cancel or failure abandons (the old slot was never at risk).
  assert.equal(isParked('awaiting_install_window'), false);
  assert.equal(next('awaiting_install_window', 'aborted'), 'abandoning');
  assert.equal(next('awaiting_install_window', 'failed'), 'abandoning');
  assert.equal(safeState('awaiting_install_window'), 'abandoning');
});
