import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCommand } from '../../../agent/platform/exec.ts';
import { isOutpostError } from '../../../shared/errors.ts';

/** Running, not a zombie waiting for init to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a timeout kills the command and everything it started (script children holding the pipe)', async () => {
  const started = Date.now();
  const r = await runCommand('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  // Not a speed target: a surviving grandchild holds the pipe until its sleep ends at 30 s.
  assert.ok(Date.now() - started < 20_000, 'result did not wait for the orphaned grandchild');
  const grandchild = Number(r.stdout.trim());
  assert.ok(grandchild > 0, 'script printed its child pid');
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(alive(grandchild), false, 'grandchild was killed with the group');
});

test('an abort rejects with E_ABORTED and kills the group', async () => {
  const ac = new AbortController();
  const p = runCommand('sh', ['-c', 'sleep 30 & wait'], { signal: ac.signal });
  const started = Date.now();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(p, (e) => isOutpostError(e, 'E_ABORTED'));
  assert.ok(Date.now() - started < 20_000, 'abort did not wait for the grandchild');
});

test('exit code, output and input pass through; output is capped', async () => {
  const r = await runCommand('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello', maxOutputBytes: 3 });
  assert.deepEqual([r.code, r.stdout, r.stderr, r.timedOut], [3, 'hel', 'err', false]);
});

test('a missing program is E_EXEC', async () => {
  await assert.rejects(runCommand('/nonexistent/outpost-nope', []), (e) => isOutpostError(e, 'E_EXEC'));
});
