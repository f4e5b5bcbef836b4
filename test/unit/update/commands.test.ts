// Health checks and the reboot command run real processes through platform/exec.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandHealthCheck } from '../../../agent/update/health.ts';
import { commandRebooter } from '../../../agent/platform/rebooter.ts';
import { processRunner } from '../../../agent/platform/exec.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const check = (command: string, args: string[], timeoutMs = 5000) => commandHealthCheck({ name: 't', command, args, timeoutMs }, processRunner);
const signal = () => new AbortController().signal;

test('a health check passes on exit 0 and fails with its output otherwise', async () => {
  await check('/bin/true', []).check(signal());
  await assert.rejects(check('/bin/sh', ['-c', 'echo disk full >&2; exit 2']).check(signal()), (e) => isOutpostError(e, 'E_HEALTH_CHECK') && /exited with 2: disk full/.test(e.message));
});

test('a health check that hangs is killed at its timeout', async () => {
  await assert.rejects(check('/bin/sleep', ['10'], 100).check(signal()), (e) => isOutpostError(e, 'E_HEALTH_TIMEOUT'));
});

test('an aborted health check stops its command', async () => {
  const c = new AbortController();
  const p = check('/bin/sleep', ['10']).check(c.signal);
  c.abort();
  await assert.rejects(p, (e) => isOutpostError(e, 'E_ABORTED'));
});

test('the reboot command gets the reason and its failure is E_REBOOT', async () => {
  await commandRebooter({ command: ['/bin/sh', '-c', 'test -n "$OUTPOST_REBOOT_REASON"'], timeoutMs: 5000, runner: processRunner }).reboot('why');
  const failing = commandRebooter({ command: ['/bin/sh', '-c', 'echo no permission >&2; exit 1'], timeoutMs: 5000, runner: processRunner });
  await assert.rejects(failing.reboot('x'), (e) => isOutpostError(e, 'E_REBOOT') && /no permission/.test(e.message));
  const hanging = commandRebooter({ command: ['/bin/sleep', '10'], timeoutMs: 100, runner: processRunner });
  await assert.rejects(hanging.reboot('x'), (e) => isOutpostError(e, 'E_REBOOT') && /timed out/.test(e.message));
  assert.throws(() => commandRebooter({ command: [], timeoutMs: 1, runner: processRunner }), (e) => isOutpostError(e, 'E_CONFIG'));
});
