// The rollout driver on the real SQLite store: waves advance only after commits, a failing
// release pauses by itself and later waves never get it, a hub restart mid-rollout resumes where
// it was (no node offered twice), two drivers on one store never both advance a rollout, and
// abort cancels what has not started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../hub/store/open.ts';
import type { HubStore } from '../../../hub/store/types.ts';
import { RolloutDriver } from '../../../hub/rollouts/driver.ts';
import { createRollout } from '../../../hub/rollouts/create.ts';
import { act } from '../../../hub/rollouts/operate.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { addNodes, bundleRow, stepNodes, testOffer, type SimNode } from './store-fleet.ts';

interface Rig {
  dir: string;
  store: HubStore;
  driver: RolloutDriver;
  nodes: SimNode[];
  now: number;
}

async function rig(n: number, o: { dir?: string } = {}): Promise<Rig> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'hub-rollouts-driver-')));
  const store = await openStore({ url: join(dir, 'hub.db') });
  const now = 1_700_000_000_000;
  const nodes = n ? await addNodes(store, n, now) : [];
  await store.putBundle(bundleRow(now));
  return { dir, store, driver: newDriver(store, () => now), nodes, now };
}

function newDriver(store: HubStore, now: () => number): RolloutDriver {
  return new RolloutDriver({ store, offer: testOffer, log: silentLogger(), now });
}

async function create(r: Rig, body: Record<string, unknown>) {
  return createRollout(r.store, { bundle: (await r.store.getBundle('rootfs-2.0.bundle'))!, body, createdBy: 'test', now: r.now });
}

/** Driver step + node round until the rollout stops changing. */
async function settle(r: Rig, id: string, driver = r.driver, rounds = 60) {
  let quiet = 0;
  for (let i = 0; i < rounds && quiet < 3; i++) {
    const s = await driver.step(id);
    const writes = await stepNodes(r.store, r.nodes, r.now);
    quiet = writes === 0 && !s?.offered && !s?.plan.changed ? quiet + 1 : 0;
  }
  return (await driver.snapshot(id))!;
}

async function done(r: Rig) {
  await r.driver.stop();
  await r.store.close();
  await rm(r.dir, { recursive: true, force: true });
}

test('driver: a good release goes through every wave; each node gets exactly one offer', async () => {
  const r = await rig(40);
  try {
    const row = await create(r, { id: 'good', waves: ['5%', '50%', '100%'] });
    assert.equal(row.status, 'running');
    const first = await r.driver.step('good');
    assert.equal(first!.offered, 2, '5% of 40');
    assert.equal((await r.driver.step('good'))!.offered, 0, 'wave 2 waits for wave 1');
    const s = await settle(r, 'good');
    assert.equal(s.row.status, 'completed');
    assert.deepEqual(s.plan.waves.map((w) => w.counts.committed), [2, 18, 20]);
    assert.ok(r.nodes.every((n) => n.offers === 1));
  } finally {
    await done(r);
  }
});

test('driver: a release failing on some nodes pauses itself with the reason; later waves never get it', async () => {
  const r = await rig(60);
  try {
    await create(r, { id: 'bad', waves: [3, 20, '100%'], maxFailures: 1 });
    const members = await r.store.listRolloutMembers('bad', undefined, { limit: 1000 });
    const wave2 = members.filter((m) => m.wave === 1).map((m) => m.nodeId);
    for (const n of r.nodes) n.failing = wave2.slice(0, 3).includes(n.id);
    const s = await settle(r, 'bad');
    assert.equal(s.row.status, 'paused');
    assert.equal(s.row.currentWave, 1);
    assert.match(s.row.pausedReason ?? '', /failure threshold passed in wave 2: [23] of 20 nodes offered .*rolled-back \(E_HEALTH_CHECK\)/);
    const later = new Set(members.filter((m) => m.wave === 2).map((m) => m.nodeId));
    assert.equal(r.nodes.filter((n) => later.has(n.id) && n.offers > 0).length, 0);
    // Paused stays paused.
    await settle(r, 'bad');
    assert.equal(r.nodes.filter((n) => later.has(n.id) && n.offers > 0).length, 0);
    // The operator resumes (accepting those failures): the rest goes out and completes.
    for (const n of r.nodes) n.failing = false;
    await act(r.store, r.driver, 'bad', 'resume', '', () => r.now);
    const t = await settle(r, 'bad');
    assert.equal(t.row.status, 'completed', t.row.pausedReason ?? '');
  } finally {
    await done(r);
  }
});

test('driver: a hub restart mid-rollout resumes where it was, nothing offered twice', async () => {
  const r = await rig(30);
  try {
    await create(r, { id: 'restart', waves: [3, 15, '100%'] });
    // Wave 1 commits, wave 2 opens and its offers are stored; then the hub "dies".
    for (let i = 0; i < 6; i++) {
      await r.driver.step('restart');
      await stepNodes(r.store, r.nodes, r.now);
    }
    const before = (await r.store.getRollout('restart'))!;
    assert.equal(before.currentWave, 1);
    await r.driver.stop();
    await r.store.close();
    r.store = await openStore({ url: join(r.dir, 'hub.db') });
    r.driver = newDriver(r.store, () => r.now);
    const after = (await r.store.getRollout('restart'))!;
    assert.equal(after.currentWave, 1);
    assert.equal(after.version, before.version);
    const s = await settle(r, 'restart');
    assert.equal(s.row.status, 'completed');
    assert.ok(r.nodes.every((n) => n.offers === 1), 'one offer per node across the restart');
  } finally {
    await done(r);
  }
});

test('driver: two drivers on one store never both advance a rollout nor offer a node twice', async () => {
  const r = await rig(50);
  const other = newDriver(r.store, () => r.now);
  try {
    await create(r, { id: 'twin', waves: ['10%', '40%', '100%'] });
    const opened: string[] = [];
    for (let i = 0; i < 40; i++) {
      const [a, b] = await Promise.all([r.driver.step('twin'), other.step('twin')]);
      for (const x of [a, b]) if (x && !x.conflict) opened.push(...x.plan.events.filter((e) => e.startsWith('wave')));
      await stepNodes(r.store, r.nodes, r.now);
    }
    assert.equal((await r.store.getRollout('twin'))!.status, 'completed');
    assert.deepEqual(opened, ['wave 1 of 3 opened (5 nodes)', 'wave 2 of 3 opened (15 nodes)', 'wave 3 of 3 opened (30 nodes)']);
    assert.ok(r.nodes.every((n) => n.offers === 1));
  } finally {
    await other.stop();
    await done(r);
  }
});

test('driver: abort cancels offers not started (queued and waiting), started ones finish, nothing new', async () => {
  const r = await rig(20);
  try {
    await create(r, { id: 'stop', waves: [8, '100%'] });
    await r.driver.step('stop');
    const offered = (await r.store.listRolloutMembers('stop', { status: 'offered' }, { limit: 100 })).map((m) => m.nodeId);
    assert.equal(offered.length, 8);
    const [a, b, c, d] = offered.map((id) => r.nodes.find((n) => n.id === id)!);
    // a and b started installing; c waits for its window; d is offline (its offer still queued).
    for (const n of r.nodes) n.online = n === a || n === b || n === c;
    c!.windowClosed = true;
    await stepNodes(r.store, r.nodes, r.now);
    await stepNodes(r.store, r.nodes, r.now);
    await act(r.store, r.driver, 'stop', 'abort', 'wrong build', () => r.now);
    assert.equal((await r.store.getCommand(d!.id, (await r.store.listCommands({ nodeId: d!.id }))[0]!.id))!.status, 'cancelled');
    for (const n of r.nodes) n.online = true;
    const s = await settle(r, 'stop');
    assert.equal(s.row.status, 'aborted');
    assert.equal(s.row.pausedReason, 'aborted by the operator: wrong build');
    assert.equal(c!.cancels, 1, 'the waiting node got a cancel');
    assert.equal(d!.offers, 0, 'the offline node never got the offer');
    assert.deepEqual([a!.offers, b!.offers], [1, 1]);
    assert.equal(s.plan.waves[0]!.counts.committed, 2);
    assert.equal(r.nodes.filter((n) => n.offers > 0).length, 3, 'no new offers after the abort');
  } finally {
    await done(r);
  }
});
