// The shipped GRUB snippet run by the real GRUB (grub-emu) and the boot simulator must make the
// same choice and leave the same variables, for ordinary and odd environments alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrubEnv } from '../../../../agent/platform/bootenv/grub-env.ts';
import { AttemptCounterBootControl } from '../../../../agent/platform/bootcontrol/attempt-counter.ts';
import { runCommand } from '../../../../agent/platform/exec.ts';
import { simulateBoot } from '../../../support/boot-simulator.ts';
import { grubEmuBoot, haveGrubEmu } from './grub-emu.ts';
import { COMMON_BOOT_CASES } from './boot-scenarios.ts';

let dir = '';
let n = 0;
const skip = (await haveGrubEmu()) ? false : 'grub-emu is not installed (Debian package grub-emu)';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'grub-real-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A grubenv made by grub-editenv with these variables, and two copies of it. */
async function pair(vars: Record<string, string>): Promise<{ real: string; sim: string }> {
  const real = join(dir, `real${n}.env`);
  const sim = join(dir, `sim${n++}.env`);
  const r = await runCommand('grub-editenv', [real, 'create']);
  assert.equal(r.code, 0, r.stderr);
  if (Object.keys(vars).length > 0) await new GrubEnv({ path: real }).update(vars);
  await copyFile(real, sim);
  return { real, sim };
}

const CASES: Array<[string, Record<string, string>]> = [
  ...COMMON_BOOT_CASES,
  ['empty order, odd counters', { BOOT_ORDER: '', BOOT_A_LEFT: '10', BOOT_B_LEFT: 'x' }],
  ['unknown and repeated names', { BOOT_ORDER: 'C  B B A', BOOT_A_LEFT: '4', BOOT_B_LEFT: '1' }],
];

for (const [name, vars] of CASES) {
  test(`real GRUB and simulator agree: ${name}`, { skip }, async () => {
    const { real, sim } = await pair(vars);
    const work = join(dir, `work${n}`);
    const grub = await grubEmuBoot(real, work);
    const ours = await simulateBoot(new GrubEnv({ path: sim }));
    assert.equal(ours.booted, grub.booted);
    assert.deepEqual(await new GrubEnv({ path: sim }).read(), await new GrubEnv({ path: real }).read());
  });
}

test('real GRUB: nothing bootable refills the counters and keeps BOOT_ORDER', { skip }, async () => {
  const { real, sim } = await pair({ BOOT_ORDER: 'A', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0' });
  const grub = await grubEmuBoot(real, join(dir, `work${n}`));
  const ours = await simulateBoot(new GrubEnv({ path: sim }));
  assert.equal(grub.booted, null);
  assert.equal(ours.booted, null);
  assert.deepEqual(await new GrubEnv({ path: real }).read(), { BOOT_ORDER: 'A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' });
  assert.deepEqual(await new GrubEnv({ path: sim }).read(), await new GrubEnv({ path: real }).read());
});

test('real GRUB through an update: arm B, B never comes up, GRUB rolls back to A', { skip }, async () => {
  const { real } = await pair({});
  const env = new GrubEnv({ path: real });
  const bc = new AttemptCounterBootControl({ env });
  await bc.markBad('B');
  await bc.markGood('A');
  await bc.arm('B', 2);
  const booted: Array<string | null> = [];
  for (let i = 0; i < 4; i++) booted.push((await grubEmuBoot(real, join(dir, `life${i}`))).booted);
  assert.deepEqual(booted, ['B', 'B', 'A', 'A']);
  assert.deepEqual(await bc.slots(), [
    { name: 'A', triesLeft: 1, good: true },
    { name: 'B', triesLeft: 0, good: false },
  ]);
});
