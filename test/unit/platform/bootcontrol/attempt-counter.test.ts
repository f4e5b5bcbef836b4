import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttemptCounterBootControl } from '../../../../agent/platform/bootcontrol/attempt-counter.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';
import { counting, ENV_KINDS, makeEnv } from './envs.ts';

const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bootctl-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const kind of ENV_KINDS) {
  test(`${kind}: a blank env reads like the scripts' defaults`, async () => {
    const bc = new AttemptCounterBootControl({ env: await makeEnv(kind, dir) });
    assert.equal(await bc.primary(), 'A');
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 3, good: false },
      { name: 'B', triesLeft: 3, good: false },
    ]);
  });

  test(`${kind}: markGood, markBad, arm and commit, each ONE env write`, async () => {
    const env = counting(await makeEnv(kind, dir));
    const bc = new AttemptCounterBootControl({ env });
    const step = async (op: () => Promise<void>) => {
      const before = env.updates;
      await op();
      assert.equal(env.updates - before, 1);
    };
    await step(() => bc.markGood('A'));
    assert.deepEqual(await env.read(), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', OUTPOST_A_GOOD: '1' });

    await step(() => bc.markBad('B'));
    assert.equal(await bc.primary(), 'A');
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 3, good: true },
      { name: 'B', triesLeft: 0, good: false },
    ]);
    assert.equal((await env.read()).BOOT_ORDER, 'A');

    await step(() => bc.arm('B', 2));
    assert.equal(await bc.primary(), 'B');
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 3, good: true },
      { name: 'B', triesLeft: 2, good: false }, // on trial: has tries, not good
    ]);
    assert.equal((await env.read()).BOOT_ORDER, 'B A');

    await step(() => bc.markGood('B'));
    assert.deepEqual(await bc.slots(), [
      { name: 'A', triesLeft: 3, good: true },
      { name: 'B', triesLeft: 3, good: true },
    ]);
    assert.equal(await bc.primary(), 'B');
  });
}

test('arm refills a committed fallback, so a failed trial always has somewhere to go', async () => {
  const env = await makeEnv('grub', dir);
  const bc = new AttemptCounterBootControl({ env });
  await bc.markGood('A');
  await env.update({ BOOT_A_LEFT: '1' }); // worn down by boots without a markGood
  await bc.markBad('B');
  await bc.arm('B', 3);
  assert.equal((await env.read()).BOOT_A_LEFT, '3');
});

test('primary skips a slot whose tries are spent, as the bootloader does', async () => {
  const env = await makeEnv('uboot', dir);
  const bc = new AttemptCounterBootControl({ env });
  await env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '0', BOOT_A_LEFT: '2' });
  assert.equal(await bc.primary(), 'A');
  await env.update({ BOOT_A_LEFT: 'x' }); // not a digit: the scripts treat it as no tries
  assert.deepEqual((await bc.slots()).map((s) => s.triesLeft), [0, 0]);
});

test('bad slot names, try counts and emptying BOOT_ORDER are refused without writing', async () => {
  const env = counting(await makeEnv('grub', dir));
  const bc = new AttemptCounterBootControl({ env });
  await assert.rejects(bc.markBad('C'), code('E_BOOTCTL_SLOT'));
  for (const t of [0, 10, 1.5, -1]) await assert.rejects(bc.arm('B', t), code('E_BOOTCTL_TRIES'));
  await bc.markBad('B');
  const writes = env.updates;
  await assert.rejects(bc.markBad('A'), code('E_BOOTCTL_LAST_SLOT'));
  assert.equal(env.updates, writes);
  assert.throws(() => new AttemptCounterBootControl({ env, slots: ['A'] }), code('E_BOOTCTL_SLOT'));
  assert.throws(() => new AttemptCounterBootControl({ env, slots: ['A', 'A'] }), code('E_BOOTCTL_SLOT'));
  assert.throws(() => new AttemptCounterBootControl({ env, slots: ['A', 'b c'] }), code('E_BOOTCTL_SLOT'));
});

test('three slots work the same way', async () => {
  const env = await makeEnv('grub', dir);
  const bc = new AttemptCounterBootControl({ env, slots: ['A', 'B', 'C'] });
  await bc.markGood('A');
  await bc.markBad('C');
  await bc.arm('C', 1);
  assert.equal((await env.read()).BOOT_ORDER, 'C A B');
  assert.equal(await bc.primary(), 'C');
});
