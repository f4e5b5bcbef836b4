// `outpost reboot` through the real CLI on a test node whose reboot command is the boot simulator:
// it reboots when nothing is in progress, arms a staged deployment first, and refuses (changing
// nothing) while a slot is half written or another process holds the update lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestNode } from '../../support/test-node.ts';
import { updateNodes } from '../../support/update-nodes.ts';
import { acquireLock } from '../../../agent/lib/process-lock.ts';

const nodes = updateNodes({ imageSize: 2 << 20, blockSize: 64 << 10 }, { slotSize: 4 << 20, healthChecks: [['/bin/true']], checkpointBytes: 64 << 10 });

const node = () => nodes.node();

/** Forgets which slot runs, so only a reboot through the simulator can say it again. */
const forgetBooted = (n: TestNode) => writeFile(n.bootedFile, '');

test('nothing in progress: the reboot command runs', async () => {
  const n = await node();
  await forgetBooted(n);
  const r = await n.cli(['reboot']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'rebooting\n');
  assert.equal(await n.booted(), 'A', 'the boot simulator ran and booted A');
});

test('a staged deployment is armed, then the node reboots into it; the resume commits it', async () => {
  const n = await node();
  const staged = await n.cli(['install', nodes.kit.bundle, '--no-reboot']);
  assert.equal(staged.code, 0, staged.stderr);
  assert.equal((await n.journal())?.state, 'awaiting_install_window');
  const r = await n.cli(['reboot']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^deployment \S+ is staged: arming it, then rebooting\n/);
  assert.match(r.stdout, /state: arming[\s\S]*state: rebooting[\s\S]*reboot requested/);
  assert.equal(await n.booted(), 'B');
  const resume = await n.cli(['install', '--resume']);
  assert.equal(resume.code, 0, resume.stderr);
  assert.match(resume.stdout, /committed/);
  // Nothing in progress now: a plain reboot, back into the committed B.
  await forgetBooted(n);
  const again = await n.cli(['reboot']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await n.booted(), 'B');
});

test('a slot half written: refused with E_REBOOT_UNSAFE, nothing changes', async () => {
  const n = await node();
  const cut = await n.cli(['install', nodes.kit.bundle], { when: (line) => /state: writing/.test(line), delayMs: 0 });
  assert.ok(cut.killed, 'the install was cut during the write');
  assert.equal((await n.journal())?.state, 'writing');
  const envBefore = await n.env().read();
  await forgetBooted(n);
  const r = await n.cli(['reboot']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^E_REBOOT_UNSAFE: deployment \S+ is in writing: .*`outpost install --resume`.*; nothing was changed\n$/);
  assert.equal(await n.booted(), null, 'the reboot command did not run');
  assert.deepEqual(await n.env().read(), envBefore);
  assert.equal((await n.journal())?.state, 'writing');
  // The write continues, and then a reboot is what it waits for.
  await writeFile(n.bootedFile, 'A\n');
  const resume = await n.cli(['install', '--resume']);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(await n.booted(), 'B');
});

test('another process holds the update lock: refused with E_UPDATE_BUSY', async () => {
  const n = await node();
  const lock = await acquireLock(join(n.stateDir, 'update/lock'), 'the update service');
  try {
    await forgetBooted(n);
    const r = await n.cli(['reboot']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^E_UPDATE_BUSY: .*a reboot now would interrupt it/);
    assert.equal(await n.booted(), null, 'the reboot command did not run');
  } finally {
    await lock.release();
  }
});
