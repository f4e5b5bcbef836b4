// Store suite, part 1: node identity, admission, caps on pending enrolments, filters and counts,
// connections, preauthorisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOutpostError } from '../../../shared/errors.ts';
import { addNode, newId, withDb, type StoreHarness } from './suite-helpers.ts';

export function nodeTests(h: StoreHarness): void {
  test(`${h.name}: a new key waits as pending; autoAccept and preauthorisation accept it`, () => withDb(h, async (db) => {
    const s = await db.open();
    const pending = await addNode(s, { autoAccept: false });
    assert.equal((await s.getNode(pending))!.status, 'pending');
    assert.equal((await s.getNode(await addNode(s)))!.status, 'accepted');
    const pre = newId();
    assert.equal(await s.preauthorize([pre, pre], 5), 1);
    assert.deepEqual(await s.listPreauthorized(), [pre]);
    assert.equal(await s.countUnseenPreauthorized(), 1, 'a preauthorised key expected to dial');
    assert.equal((await s.getNode(await addNode(s, { id: pre, autoAccept: false })))!.status, 'accepted');
    assert.equal(await s.countUnseenPreauthorized(), 0, 'it came');
    // Preauthorising a key that is already pending accepts it.
    await s.preauthorize([pending], 6);
    assert.equal((await s.getNode(pending))!.status, 'accepted');
    assert.equal(await s.unpreauthorize(pre), true);
    assert.equal(await s.unpreauthorize(pre), false);
    await assert.rejects(s.preauthorize(['not-a-fingerprint'], 1), (e) => isOutpostError(e, 'E_STORE_BAD_ID'));
  }));

  test(`${h.name}: nodes are their key: a second key claiming the same deviceId is another node`, () => withDb(h, async (db) => {
    const s = await db.open();
    const a = await addNode(s, { deviceId: 'gate-7' });
    const b = await addNode(s, { deviceId: 'gate-7', autoAccept: false });
    assert.notEqual(a, b);
    assert.equal((await s.getNode(a))!.status, 'accepted');
    assert.equal((await s.getNode(b))!.status, 'pending');
    assert.deepEqual((await s.findNodes('gate-7')).map((n) => n.id).sort(), [a, b].sort());
    assert.deepEqual((await s.findNodes(a)).map((n) => n.id), [a]);
    assert.deepEqual((await s.findNodes(a.slice(0, 10))).map((n) => n.id), [a]);
    assert.deepEqual(await s.findNodes(a.slice(0, 5)), []);
  }));

  test(`${h.name}: admission refreshes what the node reports and never changes its status`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s, { outboxEpoch: 'e1' });
    await s.appendReports(id, [{ v: 1, id: 'x', seq: 5, at: 1, type: 'command.result', ref: 'none', ok: true }], 2_000);
    await s.updateNode(id, { status: 'rejected' });
    const r = await s.admitNode({
      id, publicKey: 'k', deviceId: 'renamed', agentVersion: '2.0.0', compatible: ['board-b', 'board-c'], site: { id: 's1', name: 'Depot' },
      running: { version: '2.0', release: 7, slot: 'b' }, releaseFloor: 6, outboxEpoch: 'e1', autoAccept: true, now: 3_000,
    });
    assert.ok('node' in r && !r.created);
    const n = r.node;
    assert.equal(n.status, 'rejected');
    assert.equal(n.deviceId, 'renamed');
    assert.deepEqual(n.compatible, ['board-b', 'board-c']);
    assert.deepEqual(n.site, { id: 's1', name: 'Depot' });
    assert.deepEqual(n.running, { version: '2.0', release: 7, slot: 'b' });
    assert.equal(n.releaseFloor, 6);
    assert.equal(n.lastSeen, 3_000);
    assert.equal(n.firstSeen, 1_000);
    assert.equal(n.ackedSeq, 5);
    assert.deepEqual((await s.listNodes({ compatible: 'board-c' })).nodes.map((x) => x.id), [id]);
    assert.equal((await s.listNodes({ compatible: 'board-a' })).total, 0);
    // A new outbox epoch restarts the node's numbering.
    await s.updateNode(id, { status: 'accepted' });
    const e2 = await s.admitNode({ id, publicKey: 'k', deviceId: 'renamed', agentVersion: '2', compatible: [], outboxEpoch: 'e2', autoAccept: false, now: 4_000 });
    assert.ok('node' in e2 && e2.node.ackedSeq === 0 && e2.node.outboxEpoch === 'e2');
  }));

  test(`${h.name}: pending enrolments are capped and expire; rejected nodes are forgotten`, () => withDb(h, async (db) => {
    const s = await db.open({ pendingMax: 3, pendingTtlMs: 1_000, rejectedTtlMs: 5_000 });
    for (let i = 0; i < 3; i++) await addNode(s, { autoAccept: false, now: 100 });
    const refused = await s.admitNode({ id: newId(), publicKey: 'k', deviceId: 'd', agentVersion: '1', compatible: [], autoAccept: false, now: 200 });
    assert.deepEqual(refused, { refused: 'pending-full' });
    // Preauthorised and auto-accepted keys are not enrolments: they still get in.
    await addNode(s, { now: 200 });
    const rej = await addNode(s, { now: 100 });
    await s.updateNode(rej, { status: 'rejected' });
    const kept = await addNode(s, { autoAccept: false, now: 100 }).catch(() => null);
    assert.equal(kept, null);
    const pruned = await s.pruneHistory(2_000);
    assert.equal(pruned.pendingNodes, 3);
    assert.equal(pruned.rejectedNodes, 0);
    assert.equal((await s.listNodes({ status: 'pending' })).total, 0);
    assert.equal((await s.pruneHistory(6_000)).rejectedNodes, 1);
    assert.equal(await s.getNode(rej), null);
    await addNode(s, { autoAccept: false, now: 7_000 });
  }));

  test(`${h.name}: listNodes filters, pages and counts`, () => withDb(h, async (db) => {
    const s = await db.open();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const id = await addNode(s, {
        now: 1_000 + i, compatible: i % 2 ? ['odd', 'all'] : ['even', 'all'], site: { id: `site-${i % 3}`, name: `Site ${i % 3}` },
        running: { version: `1.${i % 4}`, release: i % 4, slot: 'a' },
      });
      ids.push(id);
      await s.updateNode(id, { group: i < 10 ? 'canary' : 'main', labels: i % 5 === 0 ? ['gps', 'cold'] : ['gps'], region: i < 5 ? 'north' : null });
      await s.appendReports(id, [{ v: 1, id: `l${i}`, seq: 1, at: 1, type: 'location', lat: i, lon: -i, source: 'gnss', fixAt: 1 }], 2_000 + i);
    }
    const got = async (f: Parameters<typeof s.listNodes>[0]) => (await s.listNodes(f, { limit: 1000 })).nodes.map((n) => n.id).sort();
    const want = (pred: (i: number) => boolean) => ids.filter((_, i) => pred(i)).sort();
    assert.deepEqual(await got({ group: 'canary' }), want((i) => i < 10));
    assert.deepEqual(await got({ label: 'cold' }), want((i) => i % 5 === 0));
    assert.deepEqual(await got({ compatible: 'odd' }), want((i) => i % 2 === 1));
    assert.deepEqual(await got({ siteId: 'site-1' }), want((i) => i % 3 === 1));
    assert.deepEqual(await got({ siteName: 'Site 2' }), want((i) => i % 3 === 2));
    assert.deepEqual(await got({ region: 'north' }), want((i) => i < 5));
    assert.deepEqual(await got({ version: '1.3' }), want((i) => i % 4 === 3));
    assert.deepEqual(await got({ release: 2 }), want((i) => i % 4 === 2));
    assert.deepEqual(await got({ releaseBelow: 2 }), want((i) => i % 4 < 2));
    assert.deepEqual(await got({ bbox: { minLat: 3, maxLat: 6, minLon: -5, maxLon: 0 } }), want((i) => i >= 3 && i <= 5));
    assert.deepEqual(await got({ lastSeenBefore: 2_010 }), want((i) => i < 10));
    assert.deepEqual(await got({ lastSeenAfter: 2_020 }), want((i) => i > 20));
    assert.deepEqual(await got({ health: 'ok', group: 'main', label: 'cold' }), want((i) => i >= 10 && i % 5 === 0));
    assert.deepEqual(await got({ ids: [ids[3]!, ids[7]!] }), [ids[3]!, ids[7]!].sort());
    assert.deepEqual(await got({ ids: [] }), []);
    assert.deepEqual(await got({ idPrefix: ids[4]!.slice(0, 12) }), [ids[4]]);
    assert.deepEqual(await got({ deviceId: `dev-${ids[9]!.slice(0, 6)}` }), [ids[9]]);
    // Paging: ordered by id, `next` cursor, total counts every match.
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await s.listNodes({ group: 'main' }, { limit: 4, ...(after ? { after } : {}) });
      assert.equal(p.total, 15);
      seen.push(...p.nodes.map((n) => n.id));
      if (!p.next) break;
      after = p.next;
    }
    assert.deepEqual(seen, want((i) => i >= 10));
    const byRelease = await s.countNodes({}, 'release');
    assert.deepEqual(byRelease.map((c) => [c.key, c.count]).sort(), [[0, 7], [1, 6], [2, 6], [3, 6]]);
    assert.deepEqual(await s.countNodes({ group: 'canary' }, 'status'), [{ key: 'accepted', count: 10 }]);
    assert.deepEqual(await s.countNodes({}, 'connected'), [{ key: false, count: 25 }]);
    await assert.rejects(s.listNodes({ idPrefix: 'xyz' }), (e) => isOutpostError(e, 'E_STORE_FILTER'));
  }));

  test(`${h.name}: operator edits; deleteNode forgets everything of a node`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    const n = await s.updateNode(id, { name: 'Pump 3', group: 'g1', labels: ['a', 'b', 'a'], region: 'south' });
    assert.deepEqual([n!.name, n!.group, n!.labels, n!.region], ['Pump 3', 'g1', ['a', 'b'], 'south']);
    assert.deepEqual((await s.findNodes('Pump 3')).map((x) => x.id), [id]);
    assert.equal((await s.updateNode(id, { labels: ['c'] }))!.labels[0], 'c');
    assert.equal((await s.listNodes({ label: 'a' })).total, 0);
    assert.equal(await s.updateNode(newId(), { name: 'x' }), null);
    await assert.rejects(s.updateNode(id, { status: 'gone' as 'pending' }), (e) => isOutpostError(e, 'E_STORE_BAD_VALUE'));
    await s.appendReports(id, [{ v: 1, id: 'i', seq: 1, at: 1, type: 'inventory', mode: 'full', data: { a: 1 } }], 5);
    assert.equal(await s.deleteNode(id), true);
    assert.equal(await s.getNode(id), null);
    assert.equal(await s.getInventory(id), null);
    assert.deepEqual(await s.reportLog(id), []);
    assert.equal((await db.query('SELECT * FROM node_tags WHERE node_id = ?', [id])).length, 0);
    assert.equal(await s.deleteNode(id), false);
  }));

  test(`${h.name}: connections: held by one hub process, released by it or when it goes silent`, () => withDb(h, async (db) => {
    const s = await db.open();
    const a = await addNode(s);
    const b = await addNode(s);
    await s.setConnected(a, 'hub-1', 10);
    await s.setConnected(b, 'hub-2', 10);
    // The node moved to hub-2: hub-1 noticing its old socket close must not clear it.
    await s.setConnected(a, 'hub-2', 11);
    await s.setDisconnected(a, 'hub-1', 12);
    assert.equal((await s.getNode(a))!.connectedVia, 'hub-2');
    assert.equal((await s.listNodes({ connected: true })).total, 2);
    await s.setDisconnected(a, 'hub-2', 13);
    assert.equal((await s.getNode(a))!.connectedVia, null);
    assert.equal((await s.getNode(a))!.lastSeen, 13);
    await s.hubAlive('hub-1', { url: 'http://one' }, 100);
    await s.hubAlive('hub-2', {}, 50);
    assert.deepEqual((await s.listHubs()).map((x) => [x.id, x.url, x.nodes]), [['hub-1', 'http://one', 0], ['hub-2', null, 1]]);
    assert.deepEqual(await s.reapHubs(60), ['hub-2']);
    assert.equal((await s.getNode(b))!.connectedVia, null);
    await s.setConnected(b, 'hub-1', 101);
    assert.equal(await s.releaseConnections('hub-1'), 1);
    assert.equal((await s.listNodes({ connected: true })).total, 0);
  }));
}
