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

test('processes racing for a stale lock: never two holders at once (stale-takeover race regression)', { timeout: 180_000 }, async (t) => {
  const d = await dir();
  t.after(() => rm(d, { recursive: true, force: true }));
  const path = join(d, 'update.lock');
  const held = join(d, 'held');
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const dead = spawn('true');
  await new Promise((r) => dead.on('close', r));
  const mod = JSON.stringify(new URL('../../agent/lib/process-lock.ts', import.meta.url).href);
  // Each child waits for a common start time, tries once, and holds a won lock a while. A holder
  // creates a marker exclusively and removes it before releasing: a second holder at the same time
  // finds it and says "overlap". On a busy machine a late child may legitimately win after an
  // early one released, so the winners are not counted: only overlapping holders are a failure.
  const child = (startAt: number) => spawn(process.execPath, ['--input-type=module', '-e', `
    import { acquireLock } from ${mod};
    import { writeFile, unlink } from 'node:fs/promises';
    await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
    let lock;
    try { lock = await acquireLock(${JSON.stringify(path)}, 'x'); } catch (e) { process.stdout.write(e.code); process.exit(0); }
    try { await writeFile(${JSON.stringify(held)}, String(process.pid), { flag: 'wx' }); } catch { process.stdout.write('overlap'); process.exit(0); }
    process.stdout.write('got');
    await new Promise((r) => setTimeout(r, 400));
    await unlink(${JSON.stringify(held)});
    await lock.release();`]);
  for (let round = 0; round < 12; round++) {
    await writeFile(path, `${dead.pid} ${boot}\n`); // stale: its process is gone
    const startAt = Date.now() + 400;
    const outs = await Promise.all([0, 1, 2].map(() => new Promise<string>((resolve) => {
      const c = child(startAt);
      let out = '';
      c.stdout.on('data', (b) => (out += b));
      c.on('close', () => resolve(out));
    })));
    assert.ok(outs.includes('got'), `round ${round}: nobody took the stale lock: ${outs.join(', ')}`);
    assert.ok(outs.every((o) => o === 'got' || o === 'E_UPDATE_BUSY'), `round ${round}: ${outs.join(', ')}`);
  }
});

test('an empty or damaged lock file, or a gate left by a dead process, never blocks for good', async (t) => {
  const d = await dir();
  t.after(() => rm(d, { recursive: true, force: true }));
  const path = join(d, 'update.lock');
  for (const content of ['', 'garbage\n', '0 x\n']) {
    await writeFile(path, content);
    const l = await acquireLock(path, 'x');
    await l.release();
  }
  const dead = spawn('true');
  await new Promise((r) => dead.on('close', r));
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  await writeFile(`${path}.gate`, `${dead.pid} ${boot}\n`);
  const l = await acquireLock(path, 'x');
  await l.release();
});
