// `outpost reboot`: a staged deployment (`install --no-reboot`) is armed first and the node boots
// it on trial; a reboot that would cut an install or a trial short is refused without --force.
// The real CLI as a child process; the reboot command is the boot simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNode } from './harness.ts';
import { makeKit } from './kit.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
const nodes: TestNode[] = [];
before(async () => {
  kit = await makeKit({ imageSize: 512 << 10, blockSize: 64 << 10 });
});
after(async () => {
  for (const n of nodes) await n.dispose();
  await kit.dispose();
});

async function node(healthChecks?: string[][]): Promise<TestNode> {
  const n = await TestNode.create({ kit, slotSize: 1 << 20, ...(healthChecks ? { healthChecks } : {}) });
  nodes.push(n);
  return n;
}

test('a staged deployment is armed by `outpost reboot`, boots on trial and commits at the resume', { timeout: 180_000 }, async () => {
  const n = await node();
  const staged = await n.cli(['install', kit.bundle, '--no-reboot']);
  assert.equal(staged.code, 0, staged.stderr);
  assert.equal((await n.journal())?.state, 'awaiting_install_window');
  assert.equal((await n.env().read()).BOOT_ORDER, 'A', 'staged: not armed');

  const r = await n.cli(['reboot']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: armed; reboot requested \(awaiting_boot\)/);
  assert.equal(await n.booted(), 'B', 'the simulated bootloader tried the new slot');
  const done = await n.cli(['install', '--resume']);
  assert.equal(done.code, 0, done.stderr);
  assert.equal((await n.journal())?.state, 'committed');
  assert.equal(await n.holds('B'), 'new');
});

test('a deployment waiting for its reboot is rebooted into; with nothing in progress it simply reboots', { timeout: 180_000 }, async () => {
  // The reboot command ran but the node is still up (awaiting_boot): a reboot is what it waits for.
  const n = await node();
  const installed = await n.cli(['install', kit.bundle]);
  assert.equal(installed.code, 0, installed.stderr);
  const j = await n.journal();
  assert.equal(j?.state, 'awaiting_boot');
  const again = await n.cli(['reboot']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `rebooting (deployment ${j!.id} in awaiting_boot)\n`);
  assert.equal(await n.booted(), 'B', 'still on trial');
  assert.equal((await n.settle()).journal.state, 'committed');

  const idle = await node();
  const plain = await idle.cli(['reboot']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, 'rebooting\n');
  assert.equal(await idle.booted(), 'A');
});

test('refused while a deployment is being written (E_REBOOT_REFUSED); --force reboots and the download resumes later', { timeout: 180_000 }, async () => {
  const n = await node();
  // An install stopped in the middle of its write, as a power cut or Ctrl-C leaves it.
  const cut = await n.cli(['install', kit.bundle], { when: (line) => /state: writing/.test(line), delayMs: 0 });
  assert.ok(cut.killed, 'the install was cut while writing');
  assert.equal((await n.journal())?.state, 'writing');
  const before = await n.booted();

  const refused = await n.cli(['reboot']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^E_REBOOT_REFUSED: deployment \S+ is in writing/m);
  assert.equal(await n.booted(), before);
  assert.equal((await n.env().read()).BOOT_ORDER, 'A', 'nothing armed');

  const forced = await n.cli(['reboot', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^rebooting \(deployment \S+ in writing\)$/m);
  assert.equal(await n.booted(), 'A', 'the old slot still boots');
  const resumed = await n.cli(['install', '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const done = await n.settle();
  assert.equal(done.journal.state, 'committed');
});
