// Regression: a node whose reboot command does nothing (the target stays armed, the old slot
// keeps running) must not "reboot" forever: the save counter ends the deployment and rolls back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, truncate, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GrubEnv, createGrubEnvFile } from '../../../agent/platform/bootenv/grub-env.ts';
import { AttemptCounterBootControl } from '../../../agent/platform/bootcontrol/attempt-counter.ts';
import { openSlotDevice } from '../../../agent/platform/slots/slot-device.ts';
import { bootedSlotDetector } from '../../../agent/platform/booted-slot.ts';
import { commandRebooter } from '../../../agent/platform/rebooter.ts';
import { processRunner } from '../../../agent/platform/exec.ts';
import { createUpdateService } from '../../../agent/update/service.ts';
import { JournalStore, type Journal } from '../../../agent/update/journal.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { BundleVerifier } from '../../../agent/bundle/types.ts';

const dir = await mkdtemp(join(tmpdir(), 'outpost-loop-'));
after(() => rm(dir, { recursive: true, force: true }));

// Post-boot states never read a bundle; a verifier call here would be a bug.
const unusedVerifier = new Proxy({} as BundleVerifier, {
  get: () => () => {
    throw new Error('verifier must not be used after arming');
  },
});

test('a reboot that never happens trips the save counter and rolls back', async () => {
  await mkdir(join(dir, 'state'), { recursive: true });
  const slots = ['A', 'B'].map((name) => openSlotDevice({ name, slotClass: 'rootfs', path: join(dir, `${name}.img`) }));
  for (const s of slots) (await writeFile(s.path, ''), await truncate(s.path, 65536));
  const envPath = join(dir, 'grubenv');
  // B armed with every try left, A committed fallback; the node still runs A.
  await createGrubEnvFile(envPath, { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', OUTPOST_A_GOOD: '1', OUTPOST_B_GOOD: '0' });
  await writeFile(join(dir, 'booted'), 'A\n');
  const bootControl = new AttemptCounterBootControl({ env: new GrubEnv({ path: envPath }), slots: ['A', 'B'] });
  const maxStateEntries = 4;
  const service = createUpdateService({
    dir: join(dir, 'state'),
    slots,
    bootControl,
    bootedSlot: bootedSlotDetector({ source: 'file', path: join(dir, 'booted'), slots }),
    rebooter: commandRebooter({ command: ['/bin/true'], timeoutMs: 5000, runner: processRunner }),
    verifier: unusedVerifier,
    healthChecks: [],
    releaseFloor: null,
    sourceFor: () => null,
    tries: 3,
    checkpointBytes: 65536,
    maxStateEntries,
    deploymentLogBytes: 65536,
    logger: silentLogger(),
    now: Date.now,
  });
  const j: Journal = {
    v: 1,
    id: 'd-loop',
    state: 'awaiting_boot',
    visits: { preparing: 1, writing: 1, verifying: 1, arming: 1, rebooting: 1, awaiting_boot: 1 },
    origin: '/nowhere.bundle',
    target: 'B',
    previous: 'A',
    bundle: { version: '2', release: 2, payload: { name: 'rootfs.img', size: 65536, sha256: 'b'.repeat(64), blockSize: 65536, blocks: 1 } },
    progress: { nextBlock: 1, validator: null },
    error: null,
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  await new JournalStore(join(dir, 'state')).write(j);

  const kinds: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await service.resumeAfterBoot();
    if (!r) break;
    kinds.push(r.kind === 'outcome' ? r.outcome : r.state);
    if (r.kind === 'outcome') {
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.error?.code, 'E_UPDATE_LOOP');
      break;
    }
  }
  // rebooting was entered once by the install and then maxStateEntries - 1 more times
  assert.deepEqual(kinds, [...Array(maxStateEntries - 1).fill('awaiting_boot'), 'rolled_back']);
  const s = await bootControl.slots();
  assert.deepEqual(s.find((x) => x.name === 'B'), { name: 'B', triesLeft: 0, good: false });
  assert.equal(await bootControl.primary(), 'A');
  const outcome = JSON.parse(await readFile(join(dir, 'state/deployments/d-loop.json'), 'utf8'));
  assert.equal(outcome.outcome, 'rolled_back');
  assert.ok(service.deploymentLog('d-loop').some((l) => l.includes('E_UPDATE_LOOP')));
});
