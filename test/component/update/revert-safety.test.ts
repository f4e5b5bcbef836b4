// Regressions of the update-path safety review: a revert that fails (boot env write, reboot) must
// park and retry instead of ending the deployment; a node never overwrites its only committed
// slot; a corrupt journal never reverts onto an unproven slot; commit only on a trial boot; a
// power cut during commit re-runs the checks; a resumed write re-checks the running slot.
// Each runs from a committed start (A good) and, where it matters, from a blank boot env.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestNode } from '../../support/test-node.ts';
import { updateNodes } from '../../support/update-nodes.ts';
import { BLANK_ENV, FlakyEnv, failingCheck, faultyService } from './custom-service.ts';
import { createGrubEnvFile } from '../../../agent/platform/bootenv/grub-env.ts';
import { writeBootedSlot } from '../../support/boot-simulator.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { openSlotDevice } from '../../../agent/platform/slots/slot-device.ts';
import { OutpostError } from '../../../shared/errors.ts';
import type { HealthCheck } from '../../../agent/update/ports.ts';
import type { RunResult } from '../../../agent/update/runner.ts';

const nodes = updateNodes({ imageSize: 1 << 20, blockSize: 64 << 10 }, { slotSize: 2 << 20, checkpointBytes: 128 << 10 });

type Start = 'committed' | 'blank';

async function node(start: Start): Promise<TestNode> {
  const n = await nodes.node();
  if (start === 'blank') await resetEnv(n, { ...BLANK_ENV });
  return n;
}

async function resetEnv(n: TestNode, vars: Record<string, string>): Promise<void> {
  await rm(n.envPath);
  await createGrubEnvFile(n.envPath, vars);
}

async function statusText(n: TestNode): Promise<string> {
  const { run } = await import('../../../agent/cli/status.ts');
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b));
  assert.equal(await run(['--config', n.configPath], { out, err: new PassThrough(), isTTY: false }), 0);
  return text;
}

const what = (r: RunResult | null) => (r === null ? null : r.kind === 'outcome' ? `${r.outcome} ${r.error?.code ?? ''}`.trim() : `${r.kind} ${r.state}`);
const marksBad = (slot: string) => (c: Record<string, string | null>) => c[`BOOT_${slot}_LEFT`] === '0';

for (const start of ['committed', 'blank'] as const) {
  test(`${start} env: a failed revert parks in revert_pending, blocks new deployments and is retried (failed-revert regression)`, async () => {
    const n = await node(start);
    let flaky: FlakyEnv | null = null;
    const faults = { healthChecks: [failingCheck], env: (e: import('../../../agent/platform/types.ts').BootEnv) => (flaky = new FlakyEnv(e, marksBad('B'))) };
    const svc = await faultyService(n, faults);
    assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
    assert.equal(await n.booted(), 'B');
    flaky!.failNext = 1; // the revert's markBad(B) fails once
    const r = await svc.resumeAfterBoot();
    assert.equal(flaky!.failures, 1);
    assert.equal(what(r), 'parked revert_pending');
    assert.equal((await n.journal())?.error?.code, 'E_BOOTENV_VERIFY');
    // The next offer would target A, the only good slot: refused while the revert is pending.
    await assert.rejects(svc.start(fileSource(nodes.kit.bundle)), { code: 'E_UPDATE_BUSY' });
    assert.match(await statusText(n), /revert_pending .*E_BOOTENV_VERIFY[^\n]*\nthe revert could not finish: new deployments are refused/);
    assert.equal(await n.holds('A'), 'old');
    // Next start: the revert runs again, reboots back to A and rolls back.
    const again = await faultyService(n, faults);
    assert.equal(what(await again.resumeAfterBoot()), 'parked awaiting_rollback_boot');
    assert.equal(await n.booted(), 'A');
    // The outcome carries the last problem met on the way back.
    assert.equal(what(await again.resumeAfterBoot()), 'rolled_back E_BOOTENV_VERIFY');
    const env = await n.env().read();
    assert.equal(env.OUTPOST_B_GOOD, '0');
    assert.equal(env.BOOT_ORDER, 'A');
    // Blank env: back on the slot it started from, the factory slot A is adopted (confirmBoot).
    assert.equal(env.OUTPOST_A_GOOD, '1');
    await n.assertBootable('after the retried revert');
  });

  test(`${start} env: a failed rollback reboot is retried at the next start (rollback-reboot regression)`, async () => {
    const n = await node(start);
    let calls = 0;
    const svc = await faultyService(n, {
      healthChecks: [failingCheck],
      rebooter: (sim) => ({
        async reboot(reason) {
          if (++calls === 2) throw new OutpostError('E_REBOOT', 'reboot command failed (injected)');
          return sim.reboot(reason);
        },
      }),
    });
    assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
    assert.equal(what(await svc.resumeAfterBoot()), 'parked revert_pending');
    assert.equal(await n.booted(), 'B'); // still on the slot already marked bad
    await assert.rejects(svc.start(fileSource(nodes.kit.bundle)), { code: 'E_UPDATE_BUSY' });
    assert.equal(what(await svc.resumeAfterBoot()), 'parked awaiting_rollback_boot');
    assert.equal(await n.booted(), 'A');
    assert.equal(what(await svc.resumeAfterBoot()), 'rolled_back E_REBOOT');
    await n.assertBootable('after the retried rollback reboot');
  });

  test(`${start} env: a corrupt journal never marks the running slot bad unless the other is proven (corrupt-journal regression)`, async () => {
    const n = await node(start);
    await writeFile(join(n.stateDir, 'update/journal.json'), '{"v":1,"state":"from-a-newer-agent"');
    const svc = await faultyService(n);
    const r = await svc.resumeAfterBoot();
    const env = await n.env().read();
    if (start === 'blank') {
      // Nothing is committed: nothing safe to revert to. Record it and touch nothing.
      assert.equal(what(r), 'failed E_JOURNAL_CORRUPT');
      assert.equal(env.BOOT_ORDER, 'A B');
      assert.notEqual(env.BOOT_A_LEFT, '0');
    } else {
      // A runs committed: the not-committed other slot is kept out of BOOT_ORDER, A untouched.
      assert.equal(what(r), 'rolled_back E_JOURNAL_CORRUPT');
      assert.equal(env.BOOT_ORDER, 'A');
      assert.equal(env.OUTPOST_A_GOOD, '1');
    }
    assert.equal(await n.booted(), 'A');
  });
}

test('a corrupt journal on a trial boot whose committed fallback no longer matches its record reverts nothing', async () => {
  const n = await node('committed');
  const svc = await faultyService(n);
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
  assert.equal(await n.booted(), 'B');
  const fh = await (await import('node:fs/promises')).open(n.slotPaths.A!, 'r+');
  await fh.write(Buffer.from('damaged'), 0, 7, 4096); // A is marked good but is not what was recorded
  await fh.close();
  await writeFile(join(n.stateDir, 'update/journal.json'), 'garbage');
  assert.equal(what(await svc.resumeAfterBoot()), 'failed E_JOURNAL_CORRUPT');
  const env = await n.env().read();
  assert.equal(env.BOOT_ORDER, 'B A'); // B (verified at install) keeps running; nothing marked bad
  assert.notEqual(env.BOOT_B_LEFT, '0');
});

test('a node running an uncommitted slot never overwrites its only committed slot (E_RUNNING_UNCOMMITTED)', async () => {
  const n = await node('committed');
  // What a failed revert left behind with an older agent: B runs uncommitted, primary; A good.
  await resetEnv(n, { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '2', OUTPOST_A_GOOD: '1', OUTPOST_B_GOOD: '0' });
  await writeBootedSlot(n.bootedFile, 'B');
  const svc = await faultyService(n);
  const r = await svc.start(fileSource(nodes.kit.bundle));
  assert.equal(what(r), 'failed E_RUNNING_UNCOMMITTED');
  assert.equal(await n.holds('A'), 'old');
  const env = await n.env().read();
  assert.deepEqual([env.BOOT_ORDER, env.OUTPOST_A_GOOD, env.BOOT_A_LEFT], ['B A', '1', '3']);
});

test('operator commit is refused while the deployment is on its way back (commit-after-failed-check regression)', async () => {
  const n = await node('committed');
  let calls = 0;
  // The rollback reboot "runs" but the node does not restart yet: B, marked bad, is still running.
  const svc = await faultyService(n, { healthChecks: [failingCheck], rebooter: (sim) => ({ reboot: async (why) => (++calls === 1 ? sim.reboot(why) : undefined) }) });
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
  assert.equal(what(await svc.resumeAfterBoot()), 'parked awaiting_rollback_boot');
  assert.equal(await n.booted(), 'B');
  await assert.rejects(svc.commit(), { code: 'E_COMMIT_REFUSED' });
  const env = await n.env().read();
  assert.equal(env.OUTPOST_B_GOOD, '0');
  assert.equal(env.BOOT_ORDER, 'A');
});

test('a power cut during commit runs the health checks again in the new boot (commit-resume regression)', async () => {
  const n = await node('committed');
  let boot = 'boot-1';
  let runs = 0;
  const check: HealthCheck = {
    name: 'passes-in-boot-1-only',
    async check() {
      runs++;
      if (boot !== 'boot-1') throw new OutpostError('E_HEALTH_CHECK', 'service broken after the power cut');
    },
  };
  const faults = { healthChecks: [check], bootId: async () => boot };
  const svc = await faultyService(n, faults);
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
  // Stop right after the journal says committing, before markGood: the power cut.
  const off = svc.subscribe((e) => e.type === 'state' && e.state === 'committing' && svc.stop());
  assert.equal(what(await svc.resumeAfterBoot()), 'stopped committing');
  off();
  assert.equal(runs, 1);
  boot = 'boot-2';
  const after = await faultyService(n, faults);
  const r = await after.resumeAfterBoot();
  assert.equal(runs, 2, 'the checks ran again in the new boot');
  assert.equal(what(r), 'parked awaiting_rollback_boot');
  assert.equal((await n.env().read()).OUTPOST_B_GOOD, '0');
});

test('a resumed write re-checks that the target is not the running slot (resume-writing regression)', async () => {
  const n = await node('committed');
  const svc = await faultyService(n);
  let stopped = false;
  svc.subscribe((e) => {
    if (!stopped && e.type === 'progress' && e.done >= 512 << 10) (stopped = true), svc.stop();
  });
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'stopped writing');
  // The journal says "writing into B", but B is what runs now.
  await writeBootedSlot(n.bootedFile, 'B');
  const dev = openSlotDevice({ name: 'B', slotClass: 'rootfs', path: n.slotPaths.B! });
  const before = await dev.digest(2 << 20);
  const envBefore = await n.env().read();
  const r = await (await faultyService(n)).resumeAfterBoot();
  assert.equal(what(r), 'failed E_TARGET_RUNNING');
  assert.equal(await dev.digest(2 << 20), before, 'not one byte of the running slot was written');
  assert.deepEqual(await n.env().read(), envBefore);
});

test('a revert that trips the save counter blocks new deployments until the operator rolls back (save-counter escape regression)', async () => {
  const n = await node('committed');
  let rebootWorks = false;
  // The rollback reboot "succeeds" but the node never restarts: B, marked bad, keeps running.
  const faults = {
    healthChecks: [failingCheck],
    maxStateEntries: 3,
    rebooter: (sim: import('../../../agent/platform/types.ts').Rebooter) => {
      let calls = 0;
      return { reboot: async (why: string) => (++calls === 1 || rebootWorks ? sim.reboot(why) : undefined) };
    },
  };
  const svc = await faultyService(n, faults);
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
  const seen: (string | null)[] = [];
  for (let i = 0; i < 6 && seen.at(-1) !== 'parked revert_pending'; i++) seen.push(what(await svc.resumeAfterBoot()));
  assert.equal(seen.at(-1), 'parked revert_pending', seen.join(', '));
  assert.equal((await n.journal())?.error?.code, 'E_UPDATE_LOOP');
  // Blocked: a new offer (which would target A, the only committed slot) is refused, every start.
  await assert.rejects(svc.start(fileSource(nodes.kit.bundle)), { code: 'E_UPDATE_BUSY' });
  assert.equal(what(await svc.resumeAfterBoot()), 'parked revert_pending');
  await assert.rejects(svc.start(fileSource(nodes.kit.bundle)), { code: 'E_UPDATE_BUSY' });
  // The operator retries the revert with a fresh allowance; this time the reboot happens.
  rebootWorks = true;
  const states: string[] = [];
  svc.subscribe((e) => e.type === 'state' && states.push(e.state));
  assert.equal(what(await svc.rollback()), 'parked awaiting_rollback_boot', `${seen.join(', ')} / ${states.join(' ')}`);
  assert.equal(await n.booted(), 'A');
  assert.equal(what(await svc.resumeAfterBoot()), 'rolled_back E_UPDATE_LOOP');
  await n.assertBootable('after the operator retried the revert');
});

test('a factory node (blank env, no deployment ever) adopts its running slot, so plain reboots never fall over to an empty slot', async () => {
  const n = await node('blank');
  const svc = await faultyService(n);
  assert.equal(await svc.resumeAfterBoot(), null);
  const env = await n.env().read();
  assert.equal(env.OUTPOST_A_GOOD, '1');
  // As on a device: the daemon starts after every boot (and refills the committed slot's tries).
  for (let i = 0; i < 6; i++) {
    assert.equal(await n.reboot(), 'A', `plain reboot ${i + 1}`);
    assert.equal(await svc.resumeAfterBoot(), null);
  }
  await n.assertBootable('factory node after reboots');
});

test('a node with a deployment on record never adopts an uncommitted running slot', async () => {
  const n = await node('blank');
  await writeFile(join(n.stateDir, 'update/journal.json'), '{"v":1,"state":"from-a-newer-agent"');
  const svc = await faultyService(n);
  await svc.resumeAfterBoot(); // sets the journal aside and records a failed outcome
  await svc.resumeAfterBoot(); // the next start: an outcome is on record
  assert.notEqual((await n.env().read()).OUTPOST_A_GOOD, '1');
});

test('a factory node whose first offer is refused before arming still adopts its running slot (adoption regression)', async () => {
  const n = await node('blank');
  const bad = join(n.dir, 'forged.bundle');
  await copyFile(nodes.kit.bundle, bad);
  const fh = await open(bad, 'r+');
  await fh.write(Buffer.from('9'), 0, 1, 512 + 20); // manifest byte: signature no longer matches
  await fh.close();
  const svc = await faultyService(n);
  const r = await svc.start(fileSource(bad));
  assert.match(what(r) ?? '', /^failed E_BUNDLE_/);
  assert.equal(await svc.resumeAfterBoot(), null); // the next start
  assert.equal((await n.env().read()).OUTPOST_A_GOOD, '1');
  for (let i = 0; i < 6; i++) {
    assert.equal(await n.reboot(), 'A', `plain reboot ${i + 1}`);
    await svc.resumeAfterBoot();
  }
  await n.assertBootable('factory node after a refused offer');
});

test('a pending revert is retried in every new boot even after the save counter ran out (revert-pending regression)', async () => {
  const n = await node('committed');
  let flaky: FlakyEnv | null = null;
  let boot = 'boot-1';
  const faults = {
    healthChecks: [failingCheck], maxStateEntries: 2, bootId: async () => boot,
    env: (e: import('../../../agent/platform/types.ts').BootEnv) => (flaky ??= new FlakyEnv(e, marksBad('B'))),
  };
  const svc = await faultyService(n, faults);
  assert.equal(what(await svc.start(fileSource(nodes.kit.bundle))), 'parked awaiting_boot');
  flaky!.failNext = 1000; // the boot env refuses to mark B bad for a while
  for (let i = 0; i < 4; i++) assert.equal(what(await svc.resumeAfterBoot()), 'parked revert_pending');
  const tries = flaky!.failures;
  assert.equal(what(await svc.resumeAfterBoot()), 'parked revert_pending');
  assert.equal(flaky!.failures, tries, 'within one boot the save counter stops the retries');
  // The env works again and the node has rebooted: the revert is tried again and finishes.
  flaky!.failNext = 0;
  boot = 'boot-2';
  assert.equal(what(await svc.resumeAfterBoot()), 'parked awaiting_rollback_boot');
  assert.equal(await n.booted(), 'A');
  assert.match(what(await svc.resumeAfterBoot()) ?? '', /^rolled_back/);
  await n.assertBootable('after a revert that was pending for a while');
});
