// Rollout requests: wave lists and targets are checked before anything is stored, with
// E_ROLLOUT_SPEC naming the field; a rollout's members are resolved once, on the real store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollout, parseTarget, parseWaves } from '../../../hub/rollouts/create.ts';
import { openStore } from '../../../hub/store/open.ts';
import { rolloutListTable, rolloutShowText, type RolloutView } from '../../../hub/cli/rollout-format.ts';
import { addNodes, bundleRow } from './store-fleet.ts';

test('parseWaves: counts, percentages, growing; anything else is E_ROLLOUT_SPEC naming the wave', () => {
  assert.deepEqual(parseWaves(['1%', '10%', '50%', '100%']), [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }]);
  assert.deepEqual(parseWaves([1, '5', { percent: 100 }]), [{ count: 1 }, { count: 5 }, { percent: 100 }]);
  assert.deepEqual(parseWaves(['0.5%', '100%']), [{ percent: 0.5 }, { percent: 100 }]);
  const bad: Array<[unknown, RegExp]> = [
    [[], /1 to 20 wave ends/], ['1%', /1 to 20 wave ends/], [['0%'], /waves\[0\]/], [['101%'], /waves\[0\]/], [[0], /waves\[0\]/],
    [['10%', 'x'], /waves\[1\]/], [[{ count: 1, percent: 5 }], /waves\[0\]/], [['10%', '5%'], /waves must grow: wave 2/], [[5, 5], /waves must grow/],
  ];
  for (const [v, re] of bad) assert.throws(() => parseWaves(v), (e: Error & { code?: string }) => e.code === 'E_ROLLOUT_SPEC' && re.test(e.message), JSON.stringify(v));
});

test('parseTarget: node filter keys only', () => {
  assert.deepEqual(parseTarget(undefined), {});
  assert.deepEqual(parseTarget({ group: 'berlin', siteId: 'BER-03' }), { group: 'berlin', siteId: 'BER-03' });
  assert.throws(() => parseTarget({ status: 'pending' }), { code: 'E_ROLLOUT_SPEC', message: /"target\.status": not a target key/ });
  assert.throws(() => parseTarget([]), { code: 'E_ROLLOUT_SPEC' });
});

test('createRollout: members fixed once with their waves; defaults; refusals', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-rollouts-create-'));
  const store = await openStore({ url: join(dir, 'hub.db') });
  try {
    const now = 1_700_000_000_000;
    await addNodes(store, 10, now);
    await addNodes(store, 2, now, { floor: 9 });
    const bundle = bundleRow(now);
    const row = await createRollout(store, { bundle, body: { id: 'r1', waves: [2, '100%'] }, createdBy: 'op', now });
    assert.deepEqual(row.failure, { maxFailures: 0 }, 'no threshold given: any failure pauses');
    assert.deepEqual(row.success, { minSuccessPercent: 0, deadlineS: 3600 });
    assert.equal(row.bundle.version, '2.0');
    const members = await store.listRolloutMembers('r1', undefined, { limit: 100 });
    assert.equal(members.length, 12);
    assert.equal(members.filter((m) => m.status === 'skipped').length, 2);
    assert.ok(members.filter((m) => m.status === 'skipped').every((m) => m.reason === "release 2 is below the node's floor 9"));
    assert.equal(members.filter((m) => m.wave === 0).length, 2);
    await assert.rejects(createRollout(store, { bundle, body: { id: 'r1', waves: ['100%'] }, createdBy: null, now }), { code: 'E_ROLLOUT_EXISTS' });
    await assert.rejects(createRollout(store, { bundle, body: { waves: ['100%'], target: { group: 'nowhere' } }, createdBy: null, now }), { code: 'E_ROLLOUT_EMPTY' });
    await assert.rejects(createRollout(store, { bundle, body: { waves: ['100%'], colour: 'red' }, createdBy: null, now }), { code: 'E_ROLLOUT_SPEC', message: /"colour": unknown field/ });
    await assert.rejects(createRollout(store, { bundle, body: { waves: ['100%'], maxFailurePercent: 150 }, createdBy: null, now }), { code: 'E_ROLLOUT_SPEC', message: /maxFailurePercent/ });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('rollout tables: list and show read like a dashboard', () => {
  assert.equal(rolloutListTable([]), 'no rollouts\n');
  const list = rolloutListTable([{ id: 'r-2-1', name: null, status: 'paused', bundle: 'rootfs-2.1.bundle (2.1, release 3)', wave: 1, waves: 2, reason: 'failure threshold passed in wave 1', updatedAt: 0 }]);
  assert.match(list, /^ID +STATUS +WAVE +BUNDLE +NAME \/ WHY\nr-2-1 +paused +1\/2 +rootfs-2\.1\.bundle \(2\.1, release 3\) +failure threshold passed in wave 1\n$/);
  const v: RolloutView = {
    id: 'r-2-1', name: null, status: 'paused', reason: 'failure threshold passed in wave 1: 1 of 1 nodes offered …',
    bundle: { bundleId: 'rootfs-2.1.bundle', version: '2.1', release: 3, compatible: ['board-a'] }, target: { group: 'berlin' },
    wave: 1, waves: 2, threshold: { maxFailures: 0 }, success: { minSuccessPercent: 0, deadlineS: 600 }, offered: 1, failures: 1, skipped: 0,
    progress: [
      { wave: 1, end: '20%', size: 1, opened: true, counts: { 'rolled-back': 1 } },
      { wave: 2, end: '100%', size: 4, opened: false, counts: { queued: 4 } },
    ],
    failed: [{ node: 'ab'.repeat(32), device: 'gw-1', wave: 1, progress: 'rolled-back', code: 'E_HEALTH_CHECK', message: 'app-selftest failed' }],
    skippedNodes: [],
  };
  const text = rolloutShowText(v);
  assert.match(text, /^rollout r-2-1: PAUSED, wave 1 of 2\n/);
  assert.match(text, /target +group=berlin/);
  assert.match(text, /pauses if +more than 0 failed/);
  assert.match(text, /why +failure threshold passed in wave 1/);
  assert.match(text, /\n1 +20% +1 +0 +0 +1 +0/);
  assert.match(text, /\n2 \(not yet\) +100% +4 +0/);
  assert.match(text, /failed:\n +gw-1 +ababababab.. +wave 1 +rolled-back +E_HEALTH_CHECK +app-selftest failed/);
});
