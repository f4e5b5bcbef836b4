// The shipped U-Boot script run by the real U-Boot (qemu_arm64 under QEMU) and the boot
// simulator must make the same choice and save the same variables.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UbootEnv } from '../../../../agent/platform/bootenv/uboot-env.ts';
import { simulateBoot } from '../../../support/boot-simulator.ts';
import { haveUbootQemu, ubootBoot } from './uboot-qemu.ts';
import { COMMON_BOOT_CASES } from './boot-scenarios.ts';

let dir = '';
let n = 0;
const skip = (await haveUbootQemu()) ? false : 'needs Debian packages u-boot-qemu and qemu-system-arm';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uboot-real-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function simulate(vars: Record<string, string>) {
  const path = join(dir, `sim${n++}.bin`);
  await writeFile(path, Buffer.alloc(0x2000));
  const env = new UbootEnv({ geometry: `${path} 0 0x1000\n${path} 0x1000 0x1000\n`, whenInvalid: 'empty' });
  await env.update(vars);
  const { booted } = await simulateBoot(env);
  const saved = Object.fromEntries(Object.entries(await env.read()).filter(([k]) => k.startsWith('BOOT_')));
  return { booted, saved };
}

const CASES: Array<[string, Record<string, string>]> = [
  ...COMMON_BOOT_CASES,
  ['unknown names in the order', { BOOT_ORDER: 'C B A', BOOT_A_LEFT: '4', BOOT_B_LEFT: '0' }],
  ['nothing bootable: refill, order kept', { BOOT_ORDER: 'A', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0' }],
];

for (const [name, vars] of CASES) {
  test(`real U-Boot and simulator agree: ${name}`, { skip }, async () => {
    const real = await ubootBoot(vars, dir);
    const sim = await simulate(vars);
    assert.equal(sim.booted, real.booted, real.console);
    assert.deepEqual(sim.saved, real.saved, real.console);
  });
}
