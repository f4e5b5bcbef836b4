// Real scripts in a temp dir, run through the real process runner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, mkdir, chmod, chown, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCustomScripts, listExecutables } from '../../../agent/inventory/custom-scripts.ts';
import { parseKeyValueLines } from '../../../agent/inventory/key-value.ts';
import { processRunner } from '../../../agent/platform/exec.ts';

let dir = '';
let scripts = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-inv-scripts-'));
  scripts = join(dir, 'inventory.d');
  await mkdir(scripts);
  const add = (name: string, body: string, mode = 0o755) => writeFile(join(scripts, name), body, { mode });
  await add('10-site', '#!/bin/sh\necho "cabinet=7"\necho "# comment"\necho\necho "power_feed = B "\n');
  await add('20-fails', '#!/bin/sh\necho "half=done"\necho "sensor bus not found" >&2\nexit 3\n');
  // The slow script's child keeps stdout open after the script is killed: the collection must
  // still move on. Its pid is recorded so the test can clean it up.
  await add('30-slow', `#!/bin/sh\necho "early=1"\nsleep 30 &\necho $! > ${join(dir, 'slow.pid')}\nwait\n`);
  await add('40-malformed', '#!/bin/sh\necho "good=yes"\necho "no equals sign"\necho "=novalue"\necho "bad key=x"\necho "good=again"\n');
  await add('50-not-executable', '#!/bin/sh\necho "x=1"\n', 0o644);
  await add('.hidden', '#!/bin/sh\necho "x=1"\n');
  await add('60-backup~', '#!/bin/sh\necho "x=1"\n');
  await add('70-no-interpreter', '#!/nonexistent/interpreter\n');
  await add('80-flood', `#!/bin/sh\ni=0\nwhile [ $i -lt 5000 ]; do echo "k$((i % 10))=$i"; i=$((i+1)); done\n`);
});
after(async () => {
  const pid = Number(await readFile(join(dir, 'slow.pid'), 'utf8').catch(() => ''));
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await rm(dir, { recursive: true, force: true });
});

test('only executables run, in run-parts order (no dotfiles, no backups)', async () => {
  assert.deepEqual(await listExecutables(scripts), ['10-site', '20-fails', '30-slow', '40-malformed', '70-no-interpreter', '80-flood']);
  assert.deepEqual(await listExecutables(join(dir, 'missing')), []);
});

test('good, failing, slow, malformed and unrunnable scripts are each reported; none blocks the rest', async () => {
  const r = await runCustomScripts({ dir: scripts, runner: processRunner, timeoutMs: 8_000, maxOutputBytes: 4096 });
  assert.deepEqual(r.custom['10-site'], { cabinet: '7', power_feed: 'B' });
  assert.equal(r.errors['custom:10-site'], undefined);

  assert.equal(r.custom['20-fails'], undefined, 'a failing script contributes no values');
  assert.deepEqual(r.errors['custom:20-fails'], { code: 'E_INVENTORY_SCRIPT_FAILED', message: 'exit code 3: sensor bus not found' });

  assert.equal(r.custom['30-slow'], undefined);
  assert.deepEqual(r.errors['custom:30-slow'], { code: 'E_INVENTORY_SCRIPT_TIMEOUT', message: 'no result within 8000 ms' });

  assert.deepEqual(r.custom['40-malformed'], { good: 'again' });
  assert.deepEqual(r.errors['custom:40-malformed'], { code: 'E_INVENTORY_SCRIPT_OUTPUT', message: '3 line(s) not key=value (line 2, 3, 4)' });

  assert.equal(r.errors['custom:70-no-interpreter']?.code, 'E_INVENTORY_SCRIPT_FAILED');

  // Output beyond the cap is cut at a line boundary and reported, never half-parsed.
  assert.equal(r.errors['custom:80-flood']?.code, 'E_INVENTORY_SCRIPT_OUTPUT');
  const flood = r.custom['80-flood']!;
  assert.equal(Object.keys(flood).length, 10);
  for (const v of Object.values(flood)) assert.match(v, /^\d+$/);
});

test('key=value parsing rules', () => {
  const r = parseKeyValueLines('a=1\r\n  b.c-d_e = two words \n#x=y\n\nk=v=w\n bad\n=\n');
  assert.deepEqual(r.values, { a: '1', 'b.c-d_e': 'two words', k: 'v=w' });
  assert.deepEqual(r.malformed, [6, 7]);
  const many = Array.from({ length: 300 }, (_, i) => `k${i}=${i}`).join('\n');
  const capped = parseKeyValueLines(many);
  assert.equal(Object.keys(capped.values).length, 256);
  assert.equal(capped.malformed.length, 44);
});

test('regression: a script others may write, or owned by another user, is not run (E_INVENTORY_SCRIPT_UNSAFE); nor is a writable directory', async () => {
  const d = join(dir, 'unsafe.d');
  await mkdir(d, { mode: 0o755 });
  const marker = join(dir, 'ran');
  const body = `#!/bin/sh\necho "x=1"\ntouch ${marker}-$(basename $0)\n`;
  await writeFile(join(d, '10-ok'), body, { mode: 0o755 });
  await writeFile(join(d, '20-world'), body, { mode: 0o755 });
  await chmod(join(d, '20-world'), 0o757);
  await writeFile(join(d, '30-group'), body, { mode: 0o775 });
  await chmod(join(d, '30-group'), 0o775);
  await writeFile(join(d, '40-nobody'), body, { mode: 0o755 });
  await chown(join(d, '40-nobody'), 65534, 65534);
  const r = await runCustomScripts({ dir: d, runner: processRunner, timeoutMs: 10_000 });
  assert.deepEqual(Object.keys(r.custom), ['10-ok']);
  for (const n of ['20-world', '30-group', '40-nobody']) {
    assert.equal(r.errors[`custom:${n}`]?.code, 'E_INVENTORY_SCRIPT_UNSAFE', n);
    await assert.rejects(stat(`${marker}-${n}`), 'never ran');
  }
  await chmod(d, 0o777);
  const open = await runCustomScripts({ dir: d, runner: processRunner, timeoutMs: 10_000 });
  assert.deepEqual(open.custom, {});
  assert.equal(open.errors.custom?.code, 'E_INVENTORY_SCRIPT_UNSAFE');
  await chmod(d, 0o755);
});
