// Regression: a torn U-Boot env (the newest of the two copies damaged) must neither undo a
// commit nor be mistaken for a failed update, and is repaired and reported at the next start.
// Real fw_setenv / fw_printenv on a redundant env in a file; the boot simulator writes one copy
// per boot as U-Boot's saveenv does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { TestNode, UBOOT_ENV_SIZE } from '../../support/test-node.ts';
import { updateNodes } from '../../support/update-nodes.ts';
import { UbootEnv } from '../../../agent/platform/bootenv/uboot-env.ts';

const nodes = updateNodes({ imageSize: 1 << 20, blockSize: 64 << 10 }, { slotSize: 2 << 20, bootEnv: 'fw-tool', healthChecks: [['/bin/true']] });
const node = (opts: { rebootCommand?: string[] } = {}) => nodes.node(opts);

/** Damages the copy the bootloader would use now (the newest); returns its index. */
async function tearNewest(n: TestNode): Promise<number> {
  const env = new UbootEnv({ geometry: await readFile(n.fwEnvConfig, 'utf8') });
  const { current } = await env.check();
  assert.ok(current >= 0);
  const fh = await open(n.envPath, 'r+');
  try {
    await fh.write(Buffer.alloc(256, 0xa5), 0, 256, current * UBOOT_ENV_SIZE + 64);
  } finally {
    await fh.close();
  }
  return current;
}

async function status(n: TestNode) {
  const r = await n.cli(['status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function resume(n: TestNode) {
  const r = await n.cli(['install', '--resume']);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

test('damage to the newest copy after commit: repaired at the next start, reported, the node keeps the new slot', async () => {
  const n = await node();
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal(await n.booted(), 'B');
  await resume(n);
  assert.equal((await n.journal())?.state, 'committed');
  const damaged = await tearNewest(n);
  await resume(n);
  const s = await status(n);
  assert.deepEqual(s.bootEnv.now.damaged, [], 'repaired');
  assert.deepEqual(s.bootEnv.lastDamage.damaged, [damaged]);
  assert.deepEqual(s.bootEnv.lastDamage.repaired, [damaged]);
  assert.equal(s.reconcile, null, 'the commit survived the damage: nothing to reconcile');
  assert.match((await n.cli(['status'])).stdout, new RegExp(`boot environment: at .* copy ${damaged} was found damaged; repaired copy ${damaged}`));
  for (let i = 0; i < 4; i++) {
    assert.equal(await n.reboot(), 'B', `boot ${i + 1} after the damage runs the committed slot`);
    await resume(n);
  }
  const after = await status(n);
  assert.equal(after.primary, 'B');
  assert.equal(after.deployment.outcome, 'committed');
  assert.equal(after.slots.find((x: { name: string }) => x.name === 'B').good, true);
  await n.assertBootable('after a torn env');
});

test('damage to the newest copy after arming: the bootloader still tries the new slot and the update commits', async () => {
  const n = await node({ rebootCommand: ['/bin/true'] });
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal((await n.journal())?.state, 'awaiting_boot');
  await tearNewest(n);
  assert.equal(await n.reboot(), 'B', 'the arm is in both copies');
  await resume(n);
  const j = await n.journal();
  assert.equal(j?.state, 'committed');
  assert.equal(j?.error, null);
});

test('a lost arm write is reported as E_BOOTLOADER_ARM_LOST, not as a fallback of the new slot', async () => {
  const n = await node({ rebootCommand: ['/bin/true'] });
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  // The env as it was before arming (a restored or rolled-back env): target out of the order.
  await n.env().update({ BOOT_ORDER: 'A', BOOT_B_LEFT: '0', OUTPOST_B_GOOD: '0' });
  assert.equal(await n.reboot(), 'A');
  const r = await n.cli(['install', '--resume']);
  const j = await n.journal();
  assert.equal(j?.state, 'rolled_back', r.stderr);
  assert.equal(j?.error?.code, 'E_BOOTLOADER_ARM_LOST');
  assert.match(j!.error!.message, /never tried/);
});

test('damage to the newest copy at rest: repaired at the next start and reported; the slot choice is kept', async () => {
  const n = await node();
  await resume(n);
  const damaged = await tearNewest(n);
  await resume(n);
  const s = await status(n);
  assert.deepEqual(s.bootEnv.lastDamage.repaired, [damaged]);
  assert.deepEqual(s.bootEnv.now.damaged, []);
  assert.equal(s.primary, 'A');
  assert.equal(await n.reboot(), 'A');
});

test('a commit the env lost is marked again at the next start and reported', async () => {
  const n = await node();
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  await resume(n);
  // What a lost commit leaves: the new slot on trial, the old one good behind it.
  await n.env().update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '2', OUTPOST_B_GOOD: '0' });
  await resume(n);
  const s = await status(n);
  assert.equal(s.reconcile.code, 'E_BOOTENV_COMMIT_LOST');
  assert.equal(s.reconcile.action, 'remarked');
  assert.equal(s.slots.find((x: { name: string }) => x.name === 'B').good, true);
  for (let i = 0; i < 4; i++) {
    assert.equal(await n.reboot(), 'B');
    await resume(n);
  }
});
