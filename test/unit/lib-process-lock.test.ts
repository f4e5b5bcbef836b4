import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { acquireLock, withLock } from '../../agent/lib/process-lock.ts';
import { isOutpostError } from '../../shared/errors.ts';

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'outpost-lock-'));
}

test('a second taker in the same or another process is refused with E_UPDATE_BUSY', async (t) => {
  const d = await dir();
  t.after(() => rm(d, { recursive: true, force: true }));
  const path = join(d, 'update.lock');
  const lock = await acquireLock(path, 'the update service');
  await assert.rejects(acquireLock(path, 'the update service'), (e) => isOutpostError(e, 'E_UPDATE_BUSY') && /process \d+/.test(e.message));
  // Another real process sees it too.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { acquireLock } from ${JSON.stringify(new URL('../../agent/lib/process-lock.ts', import.meta.url).href)};
    try { await acquireLock(${JSON.stringify(path)}, 'x'); process.exit(0); } catch (e) { process.stdout.write(e.code); process.exit(1); }`]);
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const code = await new Promise((r) => child.on('close', r));
  assert.deepEqual([code, out], [1, 'E_UPDATE_BUSY']);
  await lock.release();
  await withLock(path, 'the update service', async () => {});
});

test('a lock left by a dead process or an earlier boot is stale and taken over', async (t) => {
  const d = await dir();
  t.after(() => rm(d, { recursive: true, force: true }));
  const path = join(d, 'update.lock');
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  // A pid that cannot be running: a finished child's.
  const dead = spawn('true');
  await new Promise((r) => dead.on('close', r));
  await writeFile(path, `${dead.pid} ${boot}\n`);
  const a = await acquireLock(path, 'x');
  await a.release();
  await writeFile(path, `${process.pid} some-earlier-boot\n`); // our pid, but from before a reboot
  const b = await acquireLock(path, 'x');
  assert.equal(await readFile(path, 'utf8'), `${process.pid} ${boot}\n`);
  await b.release();
});

test('release only removes our own lock', async (t) => {
  const d = await dir();
  t.after(() => rm(d, { recursive: true, force: true }));
  const path = join(d, 'update.lock');
  const lock = await acquireLock(path, 'x');
  await writeFile(path, `1 someone-else\n`);
  await lock.release();
  assert.equal(await readFile(path, 'utf8'), '1 someone-else\n');
});
