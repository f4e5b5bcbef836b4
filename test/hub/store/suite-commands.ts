// Store suite, part 3: the command queue (stored before sent, announced on the bus, acks,
// cancellation) and rollouts (members, offers, progress, optimistic concurrency).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOutpostError } from '../../../shared/errors.ts';
import { BUS_COMMAND, type HubStore, type JsonValue, type NewRollout } from '../../../hub/store/types.ts';
import type { Offer } from '../../../shared/protocol/index.ts';
import { addNode, newId, rep, withDb, type StoreHarness } from './suite-helpers.ts';
import { waitFor } from '../../support/wait-for.ts';

const offer = (id: string, deploymentId: string): Offer => ({
  v: 1, type: 'offer', id, deploymentId, bundle: { url: 'https://hub/b/x', size: 10, sha256: 'a'.repeat(64) }, version: '2.0', release: '7',
});

export function rolloutSpec(id: string, over: Partial<NewRollout> = {}): NewRollout {
  return {
    id, name: 'r', createdBy: 'ops',
    bundle: { bundleId: 'b1', manifestSha256: 'f'.repeat(64), version: '2.0', release: 7, compatible: ['board-a'] },
    target: { group: 'main' }, waves: [{ count: 1 }, { percent: 100 }], success: { minSuccessPercent: 100, deadlineS: 600 },
    failure: { maxFailures: 1 }, offer: { now: true }, ...over,
  };
}

async function nodes(s: HubStore, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await addNode(s));
  return out.sort();
}

export function commandTests(h: StoreHarness): void {
  test(`${h.name}: commands are stored, announced to every store on the database, acked once`, () => withDb(h, async (db) => {
    const s1 = await db.open();
    const s2 = await db.open();
    const id = await addNode(s1);
    const seen: JsonValue[] = [];
    const unsub = await s2.subscribe(BUS_COMMAND, (p) => seen.push(p));
    const row = (await s1.enqueueCommand(id, offer('c1', 'd1'), { bundleId: 'b1', now: 10 }))!;
    assert.deepEqual([row.status, row.type, row.deploymentId, row.ack], ['pending', 'offer', 'd1', null]);
    await waitFor('the notification on the other store', () => seen.length === 1);
    assert.deepEqual(seen[0], { nodeId: id, id: 'c1' });
    // The process holding the socket finds the command by what the notification says.
    assert.deepEqual((await s2.getCommand(id, 'c1'))!.command, offer('c1', 'd1'));
    await s1.enqueueCommand(id, { v: 1, type: 'reboot', id: 'c2', reason: 'r' }, { now: 11 });
    assert.deepEqual((await s2.outstandingCommands(id)).map((c) => c.id), ['c1', 'c2']);
    await waitFor('the second notification', () => seen.length === 2);
    const d = (await s2.getDeployment(id, 'd1'))!;
    assert.deepEqual([d.state, d.bundleId, d.result, d.startedAt], ['offered', 'b1', null, null]);
    assert.equal((await s1.getNode(id))!.health, 'updating');
    const acked = (await s2.ackCommand(id, 'c1', { result: 'accepted' }, 20))!;
    assert.deepEqual([acked.status, acked.ack], ['acked', { result: 'accepted', at: 20 }]);
    assert.deepEqual([(await s1.getDeployment(id, 'd1'))!.state, (await s1.getDeployment(id, 'd1'))!.startedAt], ['accepted', null]);
    // Started = the node's first update report for it (a node waiting for a window has sent none).
    await s1.appendReports(id, [rep(1, { type: 'update.state', at: 1, deploymentId: 'd1', state: 'downloading' })], 25);
    await s1.appendReports(id, [rep(2, { type: 'update.state', at: 2, deploymentId: 'd1', state: 'installing' })], 26);
    assert.equal((await s1.getDeployment(id, 'd1'))!.startedAt, 25);
    assert.deepEqual((await s1.ackCommand(id, 'c1', { result: 'rejected' }, 21))!.ack, { result: 'accepted', at: 20 });
    assert.equal(await s1.ackCommand(id, 'nope', { result: 'accepted' }, 22), null);
    assert.deepEqual((await s1.outstandingCommands(id)).map((c) => c.id), ['c2']);
    await assert.rejects(s1.enqueueCommand(id, { v: 1, type: 'reboot', id: 'c2' }, { now: 30 }), (e) => isOutpostError(e, 'E_STORE_DUPLICATE_COMMAND'));
    await assert.rejects(s1.enqueueCommand(newId(), { v: 1, type: 'reboot', id: 'c9' }, { now: 30 }), (e) => isOutpostError(e, 'E_STORE_UNKNOWN_NODE'));
    // A command.result report completes the command row.
    const r = await s1.appendReports(id, [rep(3, { type: 'command.result', at: 1, ref: 'c2', ok: false, code: 'E_X' })], 40);
    assert.deepEqual(r.commands.map((c) => [c.id, c.outcome]), [['c2', { ok: false, code: 'E_X', at: 40 }]]);
    await unsub();
    // Notifications of one store arrive in order: once the probe is in, c3's would be too.
    let probed = false;
    await s2.subscribe('outpost_probe', () => (probed = true));
    await s1.enqueueCommand(id, { v: 1, type: 'reboot', id: 'c3' }, { now: 50 });
    await s1.notify('outpost_probe', 1);
    await waitFor('the probe', () => probed);
    assert.equal(seen.length, 2, 'nothing after unsubscribing');
  }));

  test(`${h.name}: a rejected offer finishes its deployment; cancelPending cancels what was not started`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    await s.enqueueCommand(id, offer('c1', 'd1'), { now: 1 });
    await s.ackCommand(id, 'c1', { result: 'rejected', code: 'E_OFFER_MISMATCH', message: 'm' }, 2);
    const d = (await s.getDeployment(id, 'd1'))!;
    assert.deepEqual([d.state, d.result, d.code, d.finishedAt], ['rejected', 'rejected', 'E_OFFER_MISMATCH', 2]);
    assert.equal((await s.getNode(id))!.health, 'ok');
    await s.enqueueCommand(id, offer('c2', 'd2'), { now: 3 });
    await s.enqueueCommand(id, { v: 1, type: 'reboot', id: 'c3' }, { now: 4 });
    const cancelled = await s.cancelPending({ deploymentId: 'd2' }, 5);
    assert.deepEqual(cancelled.map((c) => [c.id, c.status]), [['c2', 'cancelled']]);
    assert.deepEqual([(await s.getDeployment(id, 'd2'))!.state, (await s.getDeployment(id, 'd2'))!.result], ['cancelled', 'cancelled']);
    assert.deepEqual((await s.outstandingCommands(id)).map((c) => c.id), ['c3']);
    // The node's ack arriving after the cancel: the row says cancelled (the hub sends a cancel).
    assert.equal((await s.ackCommand(id, 'c2', { result: 'accepted' }, 6))!.status, 'cancelled');
    assert.deepEqual((await s.listCommands({ status: 'cancelled' })).map((c) => c.id), ['c2']);
    await assert.rejects(s.cancelPending({}, 1), (e) => isOutpostError(e, 'E_STORE_BAD_VALUE'));
  }));

  test(`${h.name}: rollouts: members per wave, one offer per member, progress per wave`, () => withDb(h, async (db) => {
    const s = await db.open();
    const ids = await nodes(s, 6);
    const r = await s.createRollout(rolloutSpec('ro1'), [
      ...ids.slice(0, 2).map((nodeId) => ({ nodeId, wave: 0 })),
      ...ids.slice(2, 5).map((nodeId) => ({ nodeId, wave: 1 })),
      { nodeId: ids[5]!, wave: 1, status: 'skipped' as const, reason: 'below floor' },
    ], 100);
    assert.deepEqual([r.status, r.currentWave, r.version, r.bundle.release, r.target, r.failureBaseline], ['running', -1, 1, 7, { group: 'main' }, 0]);
    await assert.rejects(s.createRollout(rolloutSpec('ro1'), [], 1), (e) => isOutpostError(e, 'E_STORE_DUPLICATE_ROLLOUT'));
    const o = (n: number) => offer(`c-${n}`, `ro1-${n}`);
    assert.ok(await s.enqueueCommand(ids[0]!, o(0), { rolloutId: 'ro1', bundleId: 'b1', now: 101 }));
    // Already offered (by this or another hub process): nothing stored, null.
    assert.equal(await s.enqueueCommand(ids[0]!, o(99), { rolloutId: 'ro1', now: 102 }), null);
    assert.equal(await s.getCommand(ids[0]!, 'c-99'), null);
    assert.equal(await s.enqueueCommand(ids[5]!, o(5), { rolloutId: 'ro1', now: 102 }), null);
    await s.enqueueCommand(ids[1]!, o(1), { rolloutId: 'ro1', now: 103 });
    await s.ackCommand(ids[0]!, 'c-0', { result: 'accepted' }, 104);
    await s.ackCommand(ids[1]!, 'c-1', { result: 'accepted' }, 104);
    await s.appendReports(ids[0]!, [rep(1, { type: 'update.outcome', at: 1, deploymentId: 'ro1-0', result: 'success', log: '' })], 105);
    await s.appendReports(ids[1]!, [rep(1, { type: 'update.state', at: 1, deploymentId: 'ro1-1', state: 'awaiting_install_window' })], 105);
    let p = await s.rolloutProgress('ro1');
    assert.deepEqual(p[0], { wave: 0, members: 2, planned: 0, skipped: 0, cancelled: 0, offered: 2, inProgress: 1, waiting: 1, succeeded: 1, failed: 0, rolledBack: 0, rejected: 0 });
    assert.deepEqual([p[1]!.members, p[1]!.planned, p[1]!.skipped], [4, 3, 1]);
    const m = await s.listRolloutMembers('ro1', { wave: 0 });
    assert.deepEqual(m.map((x) => [x.nodeId, x.status, x.deploymentId]), [[ids[0], 'offered', 'ro1-0'], [ids[1], 'offered', 'ro1-1']]);
    assert.deepEqual((await s.listDeployments({ rolloutId: 'ro1' })).map((d) => d.deploymentId).sort(), ['ro1-0', 'ro1-1']);
    const page1 = await s.listRolloutMembers('ro1', { wave: 1, status: 'planned' }, { limit: 2 });
    const page2 = await s.listRolloutMembers('ro1', { wave: 1, status: 'planned' }, { limit: 2, after: page1[1]!.nodeId });
    assert.deepEqual([...page1, ...page2].map((x) => x.nodeId), ids.slice(2, 5));
    assert.equal(await s.addRolloutMembers('ro1', [{ nodeId: ids[2]!, wave: 0 }, { nodeId: newId(), wave: 1 }], 106), 1);
    await s.enqueueCommand(ids[2]!, o(2), { rolloutId: 'ro1', now: 107 });
    await s.enqueueCommand(ids[2]!, { v: 1, type: 'reboot', id: 'plain' }, { now: 108 });
    // Paused: its offers wait (other commands do not); aborting cancels what was not started.
    const paused = (await s.updateRollout('ro1', r.version, { status: 'paused', pausedReason: '2 failed > 1' }, 110))!;
    assert.deepEqual([paused.status, paused.pausedReason, paused.version], ['paused', '2 failed > 1', 2]);
    assert.deepEqual((await s.outstandingCommands(ids[2]!)).map((c) => c.id), ['plain']);
    const running = (await s.updateRollout('ro1', 2, { status: 'running', pausedReason: null, currentWave: 1, waveStartedAt: 111, failureBaseline: 2 }, 111))!;
    assert.deepEqual([running.currentWave, running.waveStartedAt, running.pausedReason, running.failureBaseline], [1, 111, null, 2]);
    assert.deepEqual((await s.outstandingCommands(ids[2]!)).map((c) => c.id), ['c-2', 'plain']);
    const cancelled = await s.cancelPending({ rolloutId: 'ro1' }, 112);
    assert.deepEqual(cancelled.map((c) => c.id), ['c-2']);
    p = await s.rolloutProgress('ro1');
    assert.deepEqual([p[1]!.planned, p[1]!.cancelled, p[1]!.offered], [0, 4, 0]);
    assert.equal((await s.getDeployment(ids[1]!, 'ro1-1'))!.finishedAt, null);
    assert.deepEqual((await s.listRollouts({ status: 'running' })).map((x) => x.id), ['ro1']);
    await assert.rejects(s.addRolloutMembers('nope', [], 1), (e) => isOutpostError(e, 'E_STORE_UNKNOWN_ROLLOUT'));
  }));

  test(`${h.name}: two hub processes racing on one rollout: exactly one update and one offer win`, () => withDb(h, async (db) => {
    const a = await db.open();
    const b = await db.open();
    const ids = await nodes(a, 20);
    const r = await a.createRollout(rolloutSpec('race'), ids.map((nodeId) => ({ nodeId, wave: 0 })), 1);
    for (let round = 0; round < 5; round++) {
      const cur = (await a.getRollout('race'))!;
      const results = await Promise.all([
        a.updateRollout('race', cur.version, { currentWave: round }, 10),
        b.updateRollout('race', cur.version, { currentWave: round }, 10),
      ]);
      assert.equal(results.filter((x) => x !== null).length, 1, `round ${round}`);
    }
    assert.equal((await b.getRollout('race'))!.version, r.version + 5);
    const offers = await Promise.all(ids.flatMap((id, i) => [
      a.enqueueCommand(id, offer(`a-${i}`, `race-${i}`), { rolloutId: 'race', now: 20 }),
      b.enqueueCommand(id, offer(`b-${i}`, `race-${i}`), { rolloutId: 'race', now: 20 }),
    ]));
    assert.equal(offers.filter((x) => x !== null).length, ids.length);
    // A whole rollout's deployments, by node id, paged with a cursor.
    const all = await a.listDeployments({ rolloutId: 'race' }, { limit: 100_000 });
    assert.deepEqual(all.map((d) => d.nodeId), ids);
    const p1 = await b.listDeployments({ rolloutId: 'race' }, { limit: 15 });
    const p2 = await b.listDeployments({ rolloutId: 'race' }, { limit: 15, after: p1[14]!.nodeId });
    assert.deepEqual([...p1, ...p2].map((d) => d.nodeId), ids);
    for (const id of ids) assert.equal((await a.outstandingCommands(id)).length, 1);
    assert.equal(await a.updateRollout('race', 1, { status: 'aborted' }, 30), null);
    await assert.rejects(a.updateRollout('race', 1, { status: 'gone' as 'paused' }, 30), (e) => isOutpostError(e, 'E_STORE_BAD_VALUE'));
  }));
}
