// Finding 4: a hub push may only tune provisioned health checks by name (and name built-ins); it
// can neither bring a command nor switch any check off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILT_IN_CHECKS, selectHealthChecks } from '../../../agent/update/pushed-checks.ts';

const PROVISIONED = [
  { name: 'app-selftest', command: '/usr/bin/app', args: ['--selftest'], timeoutMs: 30_000 },
  { name: 'disk', command: '/usr/bin/test', args: ['-w', '/data'], timeoutMs: 5_000 },
];

test('a push tunes a provisioned check\'s timeout by name; the command is always the provisioned one', () => {
  const got = selectHealthChecks(PROVISIONED, [{ name: 'disk' }, { name: 'app-selftest', timeoutS: 90 }]);
  assert.deepEqual(got, [{ ...PROVISIONED[0], timeoutMs: 90_000 }, PROVISIONED[1]]);
  assert.equal(got[0]!.command, '/usr/bin/app');
});

test('a push cannot switch provisioned checks off (an empty or partial list still runs them all)', () => {
  assert.deepEqual(selectHealthChecks(PROVISIONED, []), PROVISIONED);
  assert.deepEqual(selectHealthChecks(PROVISIONED, [{ name: 'disk' }]), PROVISIONED);
});

test('built-ins may be named and are never returned (the caller always runs them)', () => {
  assert.ok(BUILT_IN_CHECKS.includes('hub-reachable'));
  assert.deepEqual(selectHealthChecks([], [{ name: 'hub-reachable' }]), []);
  assert.deepEqual(selectHealthChecks(PROVISIONED, [{ name: 'hub-reachable' }]), PROVISIONED);
  assert.throws(() => selectHealthChecks(PROVISIONED, [{ name: 'hub-reachable', timeoutS: 5 }]), { code: 'E_PUSH_HEALTH_CHECK' });
});

test('a name that is not provisioned is refused with E_PUSH_HEALTH_CHECK naming the known ones', () => {
  assert.throws(() => selectHealthChecks(PROVISIONED, [{ name: 'disk' }, { name: 'pushed-check' }]), (err: { code: string; message: string }) => {
    assert.equal(err.code, 'E_PUSH_HEALTH_CHECK');
    assert.match(err.message, /"pushed-check" is not provisioned.*app-selftest, disk, hub-reachable/);
    return true;
  });
  assert.throws(() => selectHealthChecks([], [{ name: 'app-selftest' }]), { code: 'E_PUSH_HEALTH_CHECK' });
});
