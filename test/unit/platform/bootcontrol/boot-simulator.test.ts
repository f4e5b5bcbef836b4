// The boot simulator (a transcription of docs/bootloader/grub.cfg and boot.cmd) driven through
// whole A/B lifecycles with the real AttemptCounterBootControl on real env files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttemptCounterBootControl } from '../../../../agent/platform/bootcontrol/attempt-counter.ts';
import { COUNTDOWN, simulateBoot } from '../../../support/boot-simulator.ts';
import { runCommand } from '../../../../agent/platform/exec.ts';
import { ENV_KINDS, makeEnv } from './envs.ts';
import { requireTool } from '../../../support/require-tool.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bootsim-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DOCS = join(import.meta.dirname, '../../../../docs/bootloader');

async function node(kind: (typeof ENV_KINDS)[number]) {
  const env = await makeEnv(kind, dir);
  const bc = new AttemptCounterBootControl({ env });
  // Factory state: A installed and committed, B empty and out of the order.
  await bc.markGood('A');
  await bc.markBad('B');
  const boot = async () => (await simulateBoot(env)).booted;
  return { env, bc, boot };
}

for (const kind of ENV_KINDS) {
  test(`${kind}: trial boot succeeds, the agent commits, the new slot stays primary`, async () => {
    const { env, bc, boot } = await node(kind);
    assert.equal(await boot(), 'A');
    await bc.markGood('A'); // healthy boot refills the counter
    await bc.markBad('B'); // before writing B
    assert.equal(await boot(), 'A', 'a reboot mid-install still starts A');
    await bc.arm('B', 3);
    assert.equal(await boot(), 'B');
    assert.equal((await env.read()).BOOT_B_LEFT, '2');
    await bc.markGood('B');
    for (let i = 0; i < 5; i++) {
      assert.equal(await boot(), 'B');
      await bc.markGood('B');
    }
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 3, good: true },
      { name: 'B', triesLeft: 3, good: true },
    ]);
  });

  test(`${kind}: a trial that never comes up uses its tries, then the old slot boots`, async () => {
    const { bc, boot } = await node(kind);
    await bc.markBad('B');
    await bc.arm('B', 3);
    assert.deepEqual([await boot(), await boot(), await boot()], ['B', 'B', 'B']); // no markGood: it hangs
    assert.equal(await boot(), 'A');
    assert.equal(await bc.primary(), 'A');
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 2, good: true },
      { name: 'B', triesLeft: 0, good: false },
    ]);
    // The agent on A sees the rollback, takes B out of the order and refills A.
    await bc.markBad('B');
    await bc.markGood('A');
    assert.equal(await boot(), 'A');
  });

  test(`${kind}: a failed health check marks the trial bad and the next boot is the old slot`, async () => {
    const { bc, boot } = await node(kind);
    await bc.markBad('B');
    await bc.arm('B', 3);
    assert.equal(await boot(), 'B');
    await bc.markBad('B');
    assert.equal(await boot(), 'A');
    assert.equal(await boot(), 'A');
  });

  test(`${kind}: both good — a broken primary falls back to the other committed slot`, async () => {
    const { bc, boot } = await node(kind);
    await bc.markBad('B');
    await bc.arm('B', 3);
    await boot();
    await bc.markGood('B');
    // B later stops reaching markGood (say, a disk problem): after its tries, A takes over.
    assert.deepEqual([await boot(), await boot(), await boot(), await boot()], ['B', 'B', 'B', 'A']);
  });
}

test('a power cut after any step of two updates and a rollback leaves only verified slots bootable', async () => {
  type Step = { op: (bc: AttemptCounterBootControl) => Promise<void>; written?: 'A' | 'B'; verified?: 'A' | 'B' };
  // Content validity moves with the install: a slot is unbootable from markBad until its digest
  // checked out (arm). Each BootControl step is one env write, so a cut lands between steps.
  const steps: Step[] = [
    { op: (bc) => bc.markGood('A') },
    { op: (bc) => bc.markBad('B'), written: 'B' },
    { op: (bc) => bc.arm('B', 3), verified: 'B' },
    { op: (bc) => bc.markGood('B') },
    { op: (bc) => bc.markBad('A'), written: 'A' },
    { op: (bc) => bc.arm('A', 2), verified: 'A' },
    { op: (bc) => bc.markBad('A'), written: 'A' }, // health check failed on A
    { op: (bc) => bc.markGood('B') },
  ];
  for (let k = 0; k <= steps.length; k++) {
    const env = await makeEnv('uboot', dir);
    const bc = new AttemptCounterBootControl({ env });
    await bc.markBad('B'); // factory provisioning: only A holds an image
    const valid = new Set(['A']);
    for (const s of steps.slice(0, k)) {
      await s.op(bc);
      if (s.written) valid.delete(s.written);
      if (s.verified) valid.add(s.verified);
    }
    // The agent is gone after the cut: the bootloader alone boots the node many times.
    for (let i = 0; i < 12; i++) {
      const { booted } = await simulateBoot(env);
      if (booted === null) continue; // counters refilled; the next boot decides
      assert.ok(valid.has(booted), `after step ${k}, boot ${i} started ${booted}, valid: ${[...valid]}`);
    }
  }
});

test('nothing bootable: reported as null, counters refilled, a bad slot is still never tried', async () => {
  const env = await makeEnv('grub', dir);
  const file = join(dir, 'booted');
  await env.update({ BOOT_ORDER: 'A', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0' });
  assert.deepEqual(await simulateBoot(env, { bootedSlotFile: file }), { booted: null });
  await assert.rejects(readFile(file), { code: 'ENOENT' });
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' });
  assert.deepEqual(await simulateBoot(env, { bootedSlotFile: file }), { booted: 'A' });
  assert.equal(await readFile(file, 'utf8'), 'A\n');
});

test('unknown names in BOOT_ORDER and non-digit counters are skipped like the scripts do', async () => {
  const env = await makeEnv('uboot', dir);
  await env.update({ BOOT_ORDER: 'X  B A', BOOT_B_LEFT: '10', BOOT_A_LEFT: '1' });
  assert.equal((await simulateBoot(env)).booted, 'A');
  assert.equal((await env.read()).BOOT_A_LEFT, '0');
});

test('the shipped GRUB snippet passes grub-script-check', { skip: requireTool('grub-script-check', 'grub-common') }, async () => {
  const r = await runCommand('grub-script-check', [join(DOCS, 'grub.cfg')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('the shipped scripts and the simulator agree on defaults, countdown and the refill', () => {
  const grub = readFileSync(join(DOCS, 'grub.cfg'), 'utf8');
  const uboot = readFileSync(join(DOCS, 'boot.cmd'), 'utf8');
  for (const s of ['A', 'B']) {
    const chain: Record<string, string> = {};
    const re = new RegExp(`if\\s+\\[ "\\$BOOT_${s}_LEFT" = "(\\d)" \\]; then set BOOT_${s}_LEFT=(\\d); set OUTPOST_SLOT=${s}\\n`, 'g');
    for (const m of grub.matchAll(re)) chain[m[1]!] = m[2]!;
    assert.deepEqual(chain, COUNTDOWN, `GRUB countdown for ${s}`);
    assert.ok(grub.includes(`if [ -z "$BOOT_${s}_LEFT" ]; then set BOOT_${s}_LEFT=3; fi`));
    assert.ok(uboot.includes(`test -n "\${BOOT_${s}_LEFT}" || setenv BOOT_${s}_LEFT 3`));
    assert.ok(uboot.includes(`setexpr BOOT_${s}_LEFT \${BOOT_${s}_LEFT} - 1`));
    // Refill when nothing is bootable: 3 tries, BOOT_ORDER untouched.
    assert.ok(grub.includes(`  set BOOT_${s}_LEFT=3\n`));
    assert.ok(uboot.includes(`  setenv BOOT_${s}_LEFT 3\n`));
  }
  assert.ok(grub.includes('if [ -z "$BOOT_ORDER" ]; then set BOOT_ORDER="A B"; fi'));
  assert.ok(uboot.includes('test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"'));
  assert.doesNotMatch(grub, /set BOOT_ORDER=(?!"A B"; fi)/, 'GRUB only ever defaults BOOT_ORDER');
  assert.doesNotMatch(uboot, /setenv BOOT_ORDER (?!"A B"$)/m, 'U-Boot only ever defaults BOOT_ORDER');
});
