import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEFORE_ARMING, EVENTS, NONE, RESUME, SERVICE_EVENTS, STATES, TRANSITIONS, countsAsVisit, isParked, isTerminal, next, resumeState, row, safeState, statesWith, type Event, type State } from '../../../agent/update/machine.ts';
import { HANDLERS } from '../../../agent/update/handlers/index.ts';

const PRE_ARM: State[] = ['preparing', 'writing', 'verifying', 'awaiting_install_window', 'abandoning'];

// Rows an operator asks for: an operator commit vouches for a boot in place of the health checks.
const OPERATOR: ReadonlySet<Event> = new Set(['operator_commit', 'operator_rollback']);

/** States reachable from `from` without the operator (pass `operator` to include their rows). */
function reachable(from: State, without: ReadonlySet<State> = new Set(), operator = false): Set<State> {
  const seen = new Set<State>([from]);
  const todo = [from];
  while (todo.length) {
    const s = todo.pop()!;
    const rows = Object.entries(TRANSITIONS[s]).filter(([e]) => operator || !OPERATOR.has(e as Event)).map(([, t]) => t);
    // A resume after a reboot is an edge too: the machine can continue from there.
    const targets = [...rows, RESUME[s]].filter((x): x is State => x !== undefined);
    for (const t of targets) if (!seen.has(t) && !without.has(t)) (seen.add(t), todo.push(t));
  }
  return seen;
}

test('every active state has a handler and handles failed and aborted', () => {
  for (const s of STATES) {
    if (isTerminal(s) || isParked(s)) {
      assert.equal(HANDLERS[s], undefined, `${s} must not act`);
      const handlerRows = Object.keys(TRANSITIONS[s]).filter((e) => !SERVICE_EVENTS.includes(e as Event));
      assert.deepEqual(handlerRows, [], `${s} has no way out but resume and the operator`);
      if (isTerminal(s)) assert.deepEqual(TRANSITIONS[s], {}, `${s} is final`);
      continue;
    }
    assert.equal(typeof HANDLERS[s], 'function', `${s} has a handler`);
    assert.ok(TRANSITIONS[s].failed, `${s} handles failed`);
    assert.ok(TRANSITIONS[s].aborted, `${s} handles aborted`);
  }
});

test('the tables name only known states and events', () => {
  for (const s of [NONE, ...STATES] as const) {
    for (const [e, t] of Object.entries(TRANSITIONS[s])) {
      assert.ok((EVENTS as readonly string[]).includes(e), `${s}: event ${e}`);
      assert.ok(STATES.includes(t), `${s} --${e}--> ${t}`);
    }
    if (s !== NONE) assert.ok(RESUME[s] && STATES.includes(RESUME[s]), `resume entry for ${s}`);
  }
});

test('every state can end in an outcome (never stuck), with or without the operator', () => {
  for (const s of STATES) {
    for (const r of [reachable(s), reachable(s, new Set(), true)]) assert.ok(r.has('committed') || r.has('rolled_back') || r.has('failed'), `${s} reaches an outcome`);
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
  for (const s of [NONE, ...STATES] as const) {
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
  for (const s of POST_ARM) assert.ok(!reachable(s, new Set(), true).has('failed'), `${s} cannot reach failed, not even through the operator`);
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

test('the operator and the runner go through rows: commit only on a trial boot, rollback abandons before arming and reverts after', () => {
  assert.deepEqual(statesWith('operator_commit'), ['awaiting_boot', 'booted', 'health_checking', 'committing']);
  for (const s of statesWith('operator_commit')) assert.equal(row(s, 'operator_commit'), 'committing');
  for (const s of STATES) {
    const r = row(s, 'operator_rollback');
    if (isTerminal(s)) assert.equal(r, null, `${s}: nothing to roll back`);
    else assert.equal(r, BEFORE_ARMING.includes(s) ? 'abandoning' : 'reverting', `${s} operator_rollback`);
  }
  // Committed is never reached from a pre-arm state through the operator either.
  for (const s of BEFORE_ARMING) assert.ok(!reachable(s, new Set(['arming']), true).has('committed'), `${s}: no commit without arming`);
});

test('a new deployment and a recovery journal enter from NONE; nothing else leaves NONE', () => {
  assert.deepEqual(TRANSITIONS[NONE], { started: 'preparing', recovered_revert: 'reverting', recovered_nothing: 'failed' });
  for (const s of STATES) for (const e of ['started', 'recovered_revert', 'recovered_nothing'] as const) assert.equal(row(s, e), null, `${s} --${e}`);
});

test('save counter rows: exhausted goes the safe way, the safe state itself ends (before arming) or parks (after)', () => {
  for (const s of STATES) {
    if (isTerminal(s) || s === 'awaiting_install_window' || s === 'revert_pending') continue; // never counted
    const to = row(s, 'exhausted');
    assert.ok(to, `${s} has an exhausted row`);
    const want = s === 'abandoning' ? 'failed' : s === 'reverting' ? 'revert_pending' : safeState(s);
    assert.equal(to, want, s);
  }
});

test('a state write that fails for good ends a deployment only before arming', () => {
  for (const s of STATES) {
    const to = row(s, 'state_write_failed');
    if (BEFORE_ARMING.includes(s)) assert.equal(to, 'abandoning', s);
    else if (s === 'abandoning') assert.equal(to, 'failed');
    else assert.equal(to, null, `${s}: after arming the runner stops and the journal resumes at the next start`);
  }
});

test('handlers never raise the service events', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const dir = new URL('../../../agent/update/handlers/', import.meta.url);
  for (const f of readdirSync(dir)) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    for (const e of SERVICE_EVENTS) assert.ok(!text.includes(`'${e}'`), `${f} returns ${e}`);
  }
});

test('only the runner writes a journal or names a state to enter (no transition outside the table)', async () => {
  const { readFileSync, globSync } = await import('node:fs');
  const root = new URL('../../../', import.meta.url).pathname;
  const files = globSync('agent/**/*.ts', { cwd: root }).filter((f) => !['agent/update/runner.ts', 'agent/update/machine.ts', 'agent/update/journal.ts'].includes(f));
  assert.ok(files.length > 50, 'the agent sources were found');
  const literal = new RegExp(`\\bstate:\\s*'(${STATES.join('|')})'`);
  for (const f of files) {
    const text = readFileSync(root + f, 'utf8');
    assert.ok(!/\.store\.write\(|new JournalStore\([^)]*\)\.write\(/.test(text), `${f} writes the journal itself`);
    assert.ok(!literal.test(text), `${f} sets a state literally: ${literal.exec(text)?.[0]}`);
  }
});

test('one function names the reported result; nothing in the update subsystem picks one itself', async () => {
  const { reportedResult } = await import('../../../agent/update/machine.ts');
  assert.equal(reportedResult('committed', null), 'success');
  assert.equal(reportedResult('rolled_back', { code: 'E_HEALTH_CHECK' }), 'rolled-back');
  assert.equal(reportedResult('failed', { code: 'E_CANCELLED' }), 'cancelled');
  assert.equal(reportedResult('failed', { code: 'E_STATE_NO_SPACE' }), 'failure');
  const { readFileSync, globSync } = await import('node:fs');
  const root = new URL('../../../', import.meta.url).pathname;
  for (const f of globSync('agent/update/**/*.ts', { cwd: root })) {
    if (f === 'agent/update/machine.ts') continue;
    const m = /result:\s*'(success|failure|rolled-back|cancelled)'/.exec(readFileSync(root + f, 'utf8'));
    assert.equal(m, null, `${f} names a result: ${m?.[0]}`);
  }
});
