// Regression (install-window save counter): a node waiting days for its install window and
// restarted every night must keep its verified download, and a slot that changed while the agent
// was down is read back before it could be armed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { faultyService } from './custom-service.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import type { InstallWindows } from '../../../agent/update/ports.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
let node: TestNode;
before(async () => {
  kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
  node = await TestNode.create({ kit, slotSize: 2 << 20, checkpointBytes: 128 << 10 });
});
after(async () => {
  await node?.dispose();
  await kit.dispose();
});

const FRIDAY_22 = Date.parse('2026-11-20T22:00:00Z');
// Only Sunday 03:00; the clock stays on Friday, so the wait never ends by itself.
const closed: InstallWindows = {
  forDeployment: async () => [{ cron: '0 3 * * sun', durationMinutes: 60, timezone: 'UTC' }],
  wait: (_ms, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
};

test('restarts while waiting for the install window do not trip the save counter; the slot is read back before arming', async () => {
  const maxStateEntries = 3;
  const states: string[] = [];
  // One "process start" per night: wait, then the node restarts (shutdown while waiting).
  for (let night = 0; night < 2 * maxStateEntries; night++) {
    const svc = await faultyService(node, { installWindows: closed, now: () => FRIDAY_22, maxStateEntries });
    svc.subscribe((e) => {
      if (e.type !== 'state') return;
      states.push(e.state);
      if (e.state === 'awaiting_install_window') svc.stop();
    });
    const r = night === 0 ? await svc.start(fileSource(kit.bundle)) : await svc.resumeAfterBoot();
    assert.deepEqual(r && r.kind === 'stopped' && r.state, 'awaiting_install_window', `night ${night}: ${JSON.stringify(r)}`);
  }
  assert.ok(!states.includes('abandoning'), states.join(' '));
  assert.equal((await node.journal())?.error, null);
  // Every restart re-read the slot before waiting again.
  assert.equal(states.filter((s) => s === 'verifying').length, 2 * maxStateEntries);

  // While the agent was down, the written slot was damaged: it must never be armed.
  const fh = await open(node.slotPaths.B!, 'r+');
  await fh.write(Buffer.from('bit rot'), 0, 7, 70_000);
  await fh.close();
  const svc = await faultyService(node, { maxStateEntries }); // the window is open now
  const r = await svc.resumeAfterBoot();
  assert.deepEqual(r && r.kind === 'outcome' && [r.outcome, r.error?.code], ['failed', 'E_SLOT_DIGEST']);
  const env = await node.env().read();
  assert.equal(env.BOOT_ORDER, 'A');
  assert.equal(await node.booted(), 'A');
  await node.assertBootable('after the damaged slot was refused');
});
