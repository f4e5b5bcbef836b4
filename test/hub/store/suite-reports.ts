// Store suite, part 2: reports applied in one transaction and acknowledged after commit,
// inventory diffs and caps, location history, deployments from update reports, retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOutpostError } from '../../../shared/errors.ts';
import { hashFlat } from '../../../agent/inventory/hash.ts';
import type { Report } from '../../../shared/protocol/index.ts';
import { addNode, DAY, newId, rep, withDb, type StoreHarness } from './suite-helpers.ts';

export function reportTests(h: StoreHarness): void {
  test(`${h.name}: a batch is applied in seq order, replays are skipped, ackedSeq is committed`, () => withDb(h, async (db) => {
    const s = await db.open();
    const other = await db.open();
    const id = await addNode(s);
    const inv = { 'os.name': 'debian', 'cpu.cores': 4 };
    const r = await s.appendReports(id, [
      rep(2, { type: 'location', at: 2, lat: 48.1, lon: 11.5, source: 'gnss', fixAt: 2, accuracyM: 3 }),
      rep(1, { type: 'inventory', at: 1, mode: 'full', data: inv, hash: hashFlat(inv) }),
    ], 10);
    assert.equal(r.ackedSeq, 2);
    assert.deepEqual(r.applied.map((a) => [a.seq, a.type, a.mode]), [[1, 'inventory', 'full'], [2, 'location', undefined]]);
    // Committed when it resolves: another store instance (another hub process) sees it at once.
    const n = (await other.getNode(id))!;
    assert.equal(n.ackedSeq, 2);
    assert.equal(n.reports, 2);
    assert.equal(n.inventoryHash, hashFlat(inv));
    assert.deepEqual(n.location, { lat: 48.1, lon: 11.5, source: 'gnss', fixAt: 2, accuracyM: 3 });
    assert.deepEqual((await other.getInventory(id))!.data, inv);
    assert.equal(await other.getInventoryHash(id), hashFlat(inv));
    const again = await s.appendReports(id, [rep(1, { type: 'inventory', at: 1, mode: 'full', data: {} }), rep(2, { type: 'command.result', at: 1, ref: 'c', ok: true })], 11);
    assert.equal(again.ackedSeq, 2);
    assert.deepEqual(again.applied, []);
    assert.deepEqual((await s.getInventory(id))!.data, inv);
    assert.equal((await s.getNode(id))!.reports, 2);
    assert.deepEqual((await s.reportLog(id)).map((l) => l.seq), [2, 1]);
  }));

  test(`${h.name}: a batch that fails half-way leaves nothing applied and the watermark where it was`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    await s.appendReports(id, [rep(1, { type: 'inventory', at: 1, mode: 'full', data: { a: 1 } })], 5);
    const broken = rep(3, { type: 'location', at: 3, lat: 1, lon: 1, source: null as unknown as string, fixAt: 3 });
    await assert.rejects(s.appendReports(id, [rep(2, { type: 'inventory', at: 2, mode: 'full', data: { a: 2 } }), broken], 6));
    const n = (await s.getNode(id))!;
    assert.equal(n.ackedSeq, 1);
    assert.deepEqual((await s.getInventory(id))!.data, { a: 1 });
    assert.deepEqual((await s.reportLog(id)).map((l) => l.seq), [1]);
    // And the store still works afterwards.
    assert.equal((await s.appendReports(id, [rep(2, { type: 'command.result', at: 2, ref: 'x', ok: true })], 7)).ackedSeq, 2);
  }));

  test(`${h.name}: concurrent batches of many nodes: each commits on its own, a failing one takes no other down`, () => withDb(h, async (db) => {
    const s = await db.open();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await addNode(s));
    const results = await Promise.allSettled(ids.map((id, i) => s.appendReports(id, [
      rep(1, { type: 'inventory', at: 1, mode: 'full', data: { i } }),
      rep(2, { type: 'location', at: 2, lat: i, lon: i, source: i === 13 ? (null as unknown as string) : 'gnss', fixAt: 2 }),
    ], 10 + i)));
    assert.deepEqual(results.map((r) => r.status === 'fulfilled' ? (r.value.ackedSeq) : 'rejected'), ids.map((_, i) => (i === 13 ? 'rejected' : 2)));
    for (const [i, id] of ids.entries()) {
      assert.equal((await s.getNode(id))!.ackedSeq, i === 13 ? 0 : 2);
      assert.deepEqual((await s.getInventory(id))?.data ?? null, i === 13 ? null : { i });
    }
    // Group commit: the first batches commit alone (one per parallel slot), the rest queued behind
    // them share the next commits.
    const { commits, batches, parallel } = (s as unknown as { reportCommits: { commits: number; batches: number; parallel: number } }).reportCommits;
    assert.equal(batches, 30);
    assert.ok(commits <= 2 * parallel + 1, `${commits} commits for 30 batches (${parallel} in parallel)`);
  }));

  test(`${h.name}: reports from a pending, rejected or unknown node are refused`, () => withDb(h, async (db) => {
    const s = await db.open();
    const p = await addNode(s, { autoAccept: false });
    const r = rep(1, { type: 'command.result', at: 1, ref: 'x', ok: true });
    await assert.rejects(s.appendReports(p, [r], 1), (e) => isOutpostError(e, 'E_STORE_UNKNOWN_NODE'));
    await assert.rejects(s.appendReports(newId(), [r], 1), (e) => isOutpostError(e, 'E_STORE_UNKNOWN_NODE'));
  }));

  test(`${h.name}: inventory diffs apply only on their base and to their hash`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    const v1 = { a: 1, b: 'x' };
    const v2 = { a: 2, c: true };
    await s.appendReports(id, [rep(1, { type: 'inventory', at: 1, mode: 'full', data: v1, hash: hashFlat(v1) })], 1);
    const diff = (seq: number, base: string, hash: string) => rep(seq, { type: 'inventory', at: seq, mode: 'diff', base, hash, set: { a: 2, c: true }, unset: ['b'] });
    let r = await s.appendReports(id, [diff(2, hashFlat(v1), hashFlat(v2))], 2);
    assert.deepEqual([r.applied[0]!.mode, r.inventoryRefresh], ['diff', false]);
    assert.deepEqual((await s.getInventory(id))!.data, v2);
    // The same change again (a resend with a new seq): a duplicate, nothing changes.
    r = await s.appendReports(id, [diff(3, hashFlat(v1), hashFlat(v2))], 3);
    assert.equal(r.applied[0]!.mode, 'duplicate');
    // Another base: kept as is, and the hub is told to ask for a full inventory.
    r = await s.appendReports(id, [diff(4, hashFlat({ zzz: 1 }), hashFlat({ q: 1 }))], 4);
    assert.deepEqual([r.applied[0]!.mode, r.inventoryRefresh, r.ackedSeq], ['wrong-base', true, 4]);
    // Right base but the result does not hash as announced: our copy drifted.
    r = await s.appendReports(id, [rep(5, { type: 'inventory', at: 5, mode: 'diff', base: hashFlat(v2), hash: hashFlat({ nope: 1 }), set: { d: 1 }, unset: [] })], 5);
    assert.deepEqual([r.applied[0]!.mode, r.inventoryRefresh], ['wrong-base', true]);
    assert.deepEqual((await s.getInventory(id))!.data, v2);
    assert.equal((await s.getNode(id))!.inventoryHash, hashFlat(v2));
  }));

  test(`${h.name}: inventory is capped in keys and bytes; a capped copy still takes diffs without a refresh loop`, () => withDb(h, async (db) => {
    const s = await db.open({ inventoryMaxKeys: 50, inventoryMaxBytes: 4096 });
    const id = await addNode(s);
    const big: Record<string, number> = {};
    for (let i = 0; i < 500; i++) big[`k${String(i).padStart(4, '0')}`] = i;
    let r = await s.appendReports(id, [rep(1, { type: 'inventory', at: 1, mode: 'full', data: big, hash: hashFlat(big) })], 1);
    assert.equal(r.applied[0]!.mode, 'truncated');
    let inv = (await s.getInventory(id))!;
    assert.equal(inv.keys, 50);
    assert.equal(Object.keys(inv.data).length, 50);
    assert.equal(inv.truncated, true);
    assert.equal(inv.hash, hashFlat(big));
    const next = { ...big, k0000: -1 };
    r = await s.appendReports(id, [rep(2, { type: 'inventory', at: 2, mode: 'diff', base: hashFlat(big), hash: hashFlat(next), set: { k0000: -1 }, unset: [] })], 2);
    assert.deepEqual([r.applied[0]!.mode, r.inventoryRefresh], ['truncated', false]);
    inv = (await s.getInventory(id))!;
    assert.equal(inv.data.k0000, -1);
    assert.equal(inv.hash, hashFlat(next));
    // Byte cap: a few huge values.
    const fat = { a: 'x'.repeat(3000), b: 'y'.repeat(3000) };
    await s.appendReports(id, [rep(3, { type: 'inventory', at: 3, mode: 'full', data: fat })], 3);
    inv = (await s.getInventory(id))!;
    assert.ok(inv.bytes <= 4096 && inv.truncated);
    assert.deepEqual(Object.keys(inv.data), ['a']);
    // A full one that fits clears the mark.
    await s.appendReports(id, [rep(4, { type: 'inventory', at: 4, mode: 'full', data: { a: 1 } })], 4);
    assert.equal((await s.getInventory(id))!.truncated, false);
  }));

  test(`${h.name}: location history is kept per node, newest first, bounded by count`, () => withDb(h, async (db) => {
    const s = await db.open({ locationsPerNode: 5, reportLogPerNode: 8 });
    const id = await addNode(s);
    const reports: Report[] = [];
    for (let i = 1; i <= 12; i++) reports.push(rep(i, { type: 'location', at: i * 10, lat: i, lon: i, source: 'gnss', fixAt: i * 10, moved: i === 12, altM: 5 }));
    await s.appendReports(id, reports.slice(0, 6), 1);
    await s.appendReports(id, reports.slice(6), 2);
    const hist = await s.locationHistory(id);
    assert.deepEqual(hist.map((l) => l.seq), [12, 11, 10, 9, 8]);
    assert.deepEqual(hist[0], { nodeId: id, seq: 12, at: 120, lat: 12, lon: 12, altM: 5, source: 'gnss', fixAt: 120, moved: true });
    assert.deepEqual((await s.locationHistory(id, { since: 105, limit: 1 })).map((l) => l.seq), [12]);
    assert.deepEqual((await s.reportLog(id, { limit: 100 })).map((l) => l.seq), [12, 11, 10, 9, 8, 7, 6, 5]);
    assert.deepEqual((await s.getNode(id))!.location, { lat: 12, lon: 12, source: 'gnss', fixAt: 120, moved: true });
    // A location report carrying the provisioned site sets the node's site; a hello without one keeps it.
    await s.appendReports(id, [rep(13, { type: 'location', at: 130, lat: 1, lon: 1, source: 'survey', fixAt: 130, site: { id: 'depot-9', name: 'Depot 9', rack: 'r1' } })], 3);
    assert.deepEqual((await s.getNode(id))!.site, { id: 'depot-9', name: 'Depot 9' });
    await s.admitNode({ id, publicKey: 'k', deviceId: 'd', agentVersion: '1', compatible: [], autoAccept: false, now: 4 });
    assert.deepEqual((await s.listNodes({ siteId: 'depot-9' })).nodes.map((n) => n.id), [id]);
  }));

  test(`${h.name}: update reports make deployment rows and node health`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    let r = await s.appendReports(id, [
      rep(1, { type: 'update.state', at: 1, deploymentId: 'd1', state: 'downloading' }),
      rep(2, { type: 'update.progress', at: 2, deploymentId: 'd1', phase: 'download', done: 5, total: 10 }),
    ], 100);
    assert.deepEqual(r.deployments.map((d) => [d.deploymentId, d.state, d.progress?.done]), [['d1', 'downloading', 5]]);
    assert.equal((await s.getNode(id))!.health, 'updating');
    r = await s.appendReports(id, [rep(3, { type: 'update.outcome', at: 3, deploymentId: 'd1', result: 'rolled-back', version: '2.0', code: 'E_HEALTH_CHECK', message: 'm', log: 'L' })], 200);
    const d = (await s.getDeployment(id, 'd1'))!;
    assert.deepEqual([d.state, d.result, d.code, d.message, d.log, d.version, d.finishedAt, d.createdAt, d.startedAt], ['rolled-back', 'rolled-back', 'E_HEALTH_CHECK', 'm', 'L', '2.0', 200, 100, 100]);
    assert.equal((await s.getNode(id))!.health, 'failing');
    assert.deepEqual((await s.listNodes({ health: 'failing' })).nodes.map((n) => n.id), [id]);
    await s.appendReports(id, [rep(4, { type: 'update.outcome', at: 4, deploymentId: 'd2', result: 'success', log: '' })], 300);
    assert.equal((await s.getNode(id))!.health, 'ok');
    assert.deepEqual((await s.listDeployments({ nodeId: id })).map((x) => x.deploymentId), ['d2', 'd1']);
  }));

  test(`${h.name}: deployments and finished commands are bounded per node`, () => withDb(h, async (db) => {
    const s = await db.open({ deploymentsPerNode: 3, finishedCommandsPerNode: 2 });
    const id = await addNode(s);
    for (let i = 1; i <= 6; i++) await s.appendReports(id, [rep(i, { type: 'update.outcome', at: i, deploymentId: `d${i}`, result: 'success', log: '' })], i * 10);
    assert.deepEqual((await s.listDeployments({ nodeId: id })).map((x) => x.deploymentId), ['d6', 'd5', 'd4']);
    for (let i = 1; i <= 5; i++) {
      await s.enqueueCommand(id, { v: 1, type: 'reboot', id: `c${i}` }, { now: 100 + i });
      await s.ackCommand(id, `c${i}`, { result: 'accepted' }, 200 + i);
    }
    assert.deepEqual((await s.listCommands({ nodeId: id })).map((c) => c.id), ['c5', 'c4']);
  }));

  test(`${h.name}: pruneHistory drops what is older than the age bound, in every history`, () => withDb(h, async (db) => {
    const s = await db.open({ historyMaxAgeMs: 10 * DAY });
    const id = await addNode(s);
    const t0 = 100 * DAY;
    await s.appendReports(id, [
      rep(1, { type: 'location', at: t0, lat: 1, lon: 1, source: 'gnss', fixAt: t0 }),
      rep(2, { type: 'update.outcome', at: t0, deploymentId: 'old', result: 'success', log: '' }),
    ], t0);
    await s.enqueueCommand(id, { v: 1, type: 'reboot', id: 'c-old' }, { now: t0 });
    await s.ackCommand(id, 'c-old', { result: 'accepted' }, t0);
    await s.enqueueCommand(id, { v: 1, type: 'inventory.refresh', id: 'c-pending' }, { now: t0 });
    const t1 = t0 + 20 * DAY;
    await s.appendReports(id, [rep(3, { type: 'location', at: t1, lat: 2, lon: 2, source: 'gnss', fixAt: t1 })], t1);
    const r = await s.pruneHistory(t1 + 1);
    assert.deepEqual({ ...r }, { reportLog: 2, locations: 1, deployments: 1, commands: 1, pendingNodes: 0, rejectedNodes: 0 });
    assert.deepEqual((await s.reportLog(id)).map((l) => l.seq), [3]);
    assert.deepEqual((await s.locationHistory(id)).map((l) => l.seq), [3]);
    assert.equal(await s.getDeployment(id, 'old'), null);
    // Undelivered commands are never aged out; the node itself and its watermark stay.
    assert.deepEqual((await s.outstandingCommands(id)).map((c) => c.id), ['c-pending']);
    assert.equal((await s.getNode(id))!.ackedSeq, 3);
  }));
}
