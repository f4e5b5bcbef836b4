// The rollout planner, table-driven over an in-memory fleet (test/hub/rollouts/sim.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from '../../../hub/rollouts/planner.ts';
import { abort, pause, resume } from '../../../hub/rollouts/actions.ts';
import { assignWaves, ineligible, waveEnds, waveOrder } from '../../../hub/rollouts/membership.ts';
import { Sim, node, spec } from './sim.ts';

const fleet = (n: number) => Array.from({ length: n }, (_, i) => node(i));

test('waveEnds: cumulative, rounded up, never beyond the fleet', () => {
  const table: Array<[Parameters<typeof waveEnds>[0], number, number[]]> = [
    [[{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }], 1000, [10, 100, 500, 1000]],
    [[{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }], 50, [1, 5, 25, 50]],
    [[{ percent: 1 }, { percent: 100 }], 0, [0, 0]],
    [[{ count: 1 }, { count: 3 }, { percent: 100 }], 5, [1, 3, 5]],
    [[{ count: 10 }, { count: 20 }], 5, [5, 5]],
    [[{ percent: 50 }, { count: 2 }], 10, [5, 5]],
    [[{ percent: 10 }], 10, [1]],
  ];
  for (const [waves, n, want] of table) assert.deepEqual(waveEnds(waves, n), want, JSON.stringify({ waves, n }));
});

test('waveOrder: stable whatever the fleet order, different per rollout', () => {
  const ids = fleet(200).map((n) => n.id);
  const a = waveOrder('r-1', ids);
  assert.deepEqual(waveOrder('r-1', [...ids].reverse()), a);
  assert.notDeepEqual(waveOrder('r-2', ids).slice(0, 10), a.slice(0, 10));
  assert.equal(new Set(a).size, ids.length);
});

test('ineligible: never below the floor, never to an incompatible board, never a downgrade', () => {
  const s = spec();
  const table: Array<[Partial<Parameters<typeof node>[1]>, RegExp | null]> = [
    [{}, null],
    [{ compatible: null }, null], // an older agent that does not report them checks them itself
    [{ compatible: ['board-b'] }, /incompatible: the node is "board-b", the bundle is for "board-a"/],
    [{ floor: 3 }, /release 2 is below the node's floor 3/],
    [{ floor: 2 }, null],
    [{ running: { version: '3.0', release: 3 }, floor: 1 }, /runs a newer release \(3\.0, release 3\)/],
    [{ accepted: false }, /not accepted/],
  ];
  for (const [o, want] of table) {
    const why = ineligible(s, node(1, o));
    if (want === null) assert.equal(why, null, JSON.stringify(o));
    else assert.match(why ?? '', want, JSON.stringify(o));
  }
});

test('skipped nodes are counted and explained, never offered; a node already on the release counts as committed', () => {
  const f = fleet(10);
  f[0] = node(0, { compatible: ['board-b'] });
  f[1] = node(1, { floor: 5 });
  f[2] = node(2, { running: { version: '2.0', release: 2 } });
  const sim = new Sim(spec({ waves: [{ percent: 100 }] }), f);
  const p = sim.run();
  assert.equal(p.state.status, 'completed');
  assert.deepEqual(p.skipped.map((s) => `${s.deviceId}: ${s.message}`).sort(), ['gw-0: incompatible: the node is "board-b", the bundle is for "board-a"', "gw-1: release 2 is below the node's floor 5"]);
  assert.equal(p.waves[0]!.counts.skipped, 2);
  assert.ok(!sim.offered.includes('fp-00000') && !sim.offered.includes('fp-00001') && !sim.offered.includes('fp-00002'));
  assert.equal(p.waves[0]!.counts.already, 1);
  assert.equal(p.waves[0]!.counts.committed, 7);
});

test('a good release rolls through every wave, each opened only after the last one committed', () => {
  const sim = new Sim(spec(), fleet(300));
  const first = sim.step();
  assert.equal(first.offers.length, 3, '1% of 300');
  assert.deepEqual(first.events, ['wave 1 of 4 opened (3 nodes)']);
  // Nothing more is offered while the canaries have not settled.
  sim.advanceNodes();
  assert.equal(sim.step().offers.length, 0);
  const p = sim.run();
  assert.equal(p.state.status, 'completed');
  assert.deepEqual(sim.events, ['wave 1 of 4 opened (3 nodes)', 'wave 2 of 4 opened (27 nodes)', 'wave 3 of 4 opened (120 nodes)', 'wave 4 of 4 opened (150 nodes)', 'completed: all 4 waves done']);
  assert.equal(new Set(sim.offered).size, 300);
  assert.deepEqual(p.waves.map((w) => w.counts.committed), [3, 27, 120, 150]);
});

test('a bundle failing on 3% of the fleet stops in the first wave where that shows; later waves never receive it', () => {
  const table = [
    { n: 1000, everyNth: 33, threshold: { percent: 2 } }, // ≈3%
    { n: 1000, everyNth: 31, threshold: { percent: 2 } },
    { n: 400, everyNth: 33, threshold: { count: 2 } },
    { n: 2000, everyNth: 34, threshold: { percent: 1, count: 50 } },
  ];
  for (const c of table) {
    const f = fleet(c.n);
    const failing = new Set(f.filter((_, i) => i % c.everyNth === 0).map((n) => n.id));
    const s = spec({ threshold: c.threshold });
    // Expected: replay the order and find the first cumulative wave end where failures pass the threshold.
    const order = waveOrder(s.id, f.map((n) => n.id));
    const ends = waveEnds(s.waves, c.n);
    const stopWave = ends.findIndex((end) => {
      const bad = order.slice(0, end).filter((id) => failing.has(id)).length;
      return (c.threshold.count !== undefined && bad > c.threshold.count) || (c.threshold.percent !== undefined && (100 * bad) / end > c.threshold.percent);
    });
    assert.ok(stopWave >= 0, 'the case trips somewhere');
    const sim = new Sim(s, f, { failing });
    const p = sim.run();
    const why = JSON.stringify(c);
    assert.equal(p.state.status, 'paused', why);
    assert.equal(p.state.wave, stopWave, why);
    assert.match(p.state.reason ?? '', new RegExp(`failure threshold passed in wave ${stopWave + 1}: \\d+ of \\d+ nodes offered .*rolled-back \\(E_HEALTH_CHECK\\)`), why);
    const later = new Set(order.slice(ends[stopWave]!));
    assert.equal(sim.offered.filter((id) => later.has(id)).length, 0, `no node of a later wave got it (${why})`);
    // It stays stopped: more rounds offer nothing.
    const before = sim.offered.length;
    sim.run(20);
    assert.equal(sim.offered.length, before);
  }
});

test('nodes waiting for a closed window are waiting, not failed, however long it takes', () => {
  const f = fleet(100);
  const order = waveOrder('r-1', f.map((n) => n.id));
  const sim = new Sim(spec({ deadlineS: 5 }), f, { closed: new Set([order[0]!]) });
  const p = sim.run(50);
  assert.equal(p.state.status, 'running');
  assert.equal(p.state.wave, 0, 'the wave waits for its canary');
  assert.equal(p.waves[0]!.counts.waiting, 1);
  assert.equal(p.failures.length, 0);
});

test('a node that started but did not commit within the deadline counts as a failure', () => {
  const f = fleet(10);
  const sim = new Sim(spec({ deadlineS: 60, waves: [{ percent: 100 }], threshold: { count: 0 } }), f);
  sim.step();
  for (const d of sim.deployments.values()) Object.assign(d, { phase: 'downloading', startedAt: sim.now });
  sim.now += 59_000;
  assert.equal(sim.step().state.status, 'running');
  sim.now += 2_000;
  const p = sim.step();
  assert.equal(p.state.status, 'paused');
  assert.match(p.state.reason ?? '', /10 of 10 nodes .*timed-out/);
});

test('an offline node does not hold its wave; it gets the offer when it returns, unless the rollout was stopped', () => {
  for (const stop of [null, 'pause', 'abort'] as const) {
    const f = fleet(100);
    const order = waveOrder('r-1', f.map((n) => n.id));
    const away = order[0]!; // a canary
    const sim = new Sim(spec({ waves: [{ count: 2 }, { percent: 100 }] }), f);
    sim.setOnline(away, false);
    sim.run();
    assert.ok(!sim.offered.includes(away));
    assert.equal(sim.state.status, 'completed', 'the waves went on without it');
    if (stop === 'pause') sim.state = { ...sim.state, status: 'paused', reason: 'paused by the operator' };
    if (stop === 'abort') sim.state = abort(sim.state, '');
    sim.setOnline(away, true);
    sim.run();
    assert.equal(sim.offered.includes(away), stop === null, `stop=${stop}`);
  }
});

test('pause: no new offers until resumed; offers out already continue', () => {
  const sim = new Sim(spec({ waves: [{ count: 5 }, { percent: 100 }] }), fleet(50));
  sim.step();
  sim.state = pause(sim.state, 'checking dashboards');
  assert.equal(sim.state.reason, 'paused by the operator: checking dashboards');
  const p = sim.run();
  assert.equal(p.state.status, 'paused');
  assert.equal(sim.offered.length, 5);
  assert.equal(p.waves[0]!.counts.committed, 5, 'the canaries finished');
  sim.state = resume(sim.state, p.failures.length);
  const q = sim.run();
  assert.equal(q.state.status, 'completed');
  assert.equal(sim.offered.length, 50);
  assert.throws(() => resume(q.state, 0), { code: 'E_ROLLOUT_STATE' });
  assert.throws(() => pause(q.state, ''), { code: 'E_ROLLOUT_STATE' });
});

test('resume after the threshold paused it: the failures so far are accepted, new ones count', () => {
  const f = fleet(100);
  const order = waveOrder('r-1', f.map((n) => n.id));
  const sim = new Sim(spec({ waves: [{ count: 4 }, { count: 20 }, { percent: 100 }], threshold: { count: 0 } }), f, { failing: new Set([order[0]!, order[10]!]) });
  let p = sim.run();
  assert.equal(p.state.status, 'paused');
  assert.equal(p.state.wave, 0);
  sim.state = resume(sim.state, p.failures.length);
  p = sim.run();
  assert.equal(p.state.status, 'paused', 'a new failure in wave 2 pauses again');
  assert.equal(p.state.wave, 1);
  assert.match(p.state.reason ?? '', /since the last resume/);
  assert.equal(sim.offered.length, 20);
});

test('abort cancels offers not yet started, leaves started ones alone, offers nothing new', () => {
  const f = fleet(20);
  const sim = new Sim(spec({ waves: [{ count: 6 }, { percent: 100 }] }), f);
  sim.step();
  const ids = [...sim.deployments.keys()];
  sim.deployments.get(ids[0]!)!.phase = 'waiting';
  Object.assign(sim.deployments.get(ids[1]!)!, { phase: 'downloading', startedAt: sim.now });
  Object.assign(sim.deployments.get(ids[2]!)!, { phase: 'installed', startedAt: sim.now });
  sim.state = abort(sim.state, 'wrong build');
  const p = sim.step();
  assert.deepEqual(new Set(p.cancels), new Set([ids[0], ids[3], ids[4], ids[5]]));
  assert.equal(p.offers.length, 0);
  assert.equal(sim.step().cancels.length, 0, 'each cancel is issued once');
  sim.run();
  assert.equal(sim.offered.length, 6);
  assert.equal(sim.last!.waves[0]!.counts.cancelled, 4);
  assert.equal(sim.last!.waves[0]!.counts.committed, 2);
  assert.throws(() => abort(sim.state, ''), { code: 'E_ROLLOUT_STATE' });
});

test('the planner is pure: same input, same plan whatever the member order; the input is not modified', () => {
  const sim = new Sim(spec(), fleet(100));
  sim.run(3);
  const members = sim.members();
  const snapshot = JSON.stringify([sim.state, members]);
  const a = plan({ spec: sim.spec, state: sim.state }, members, sim.now);
  const b = plan({ spec: sim.spec, state: sim.state }, [...members].reverse(), sim.now);
  assert.deepEqual(new Set(a.offers), new Set(b.offers));
  assert.deepEqual(a.state, b.state);
  assert.equal(JSON.stringify([sim.state, members]), snapshot);
});

test('assignWaves: every targeted node is a member in hash order; ineligible ones are skipped members with why', () => {
  const f = fleet(20);
  f[3] = node(3, { floor: 9 });
  const a = assignWaves(spec({ waves: [{ count: 2 }, { percent: 50 }, { percent: 100 }] }), f);
  assert.deepEqual(a.map((x) => x.nodeId), waveOrder('r-1', f.map((n) => n.id)));
  assert.deepEqual(a.map((x) => x.wave), [0, 0, ...Array(8).fill(1), ...Array(10).fill(2)]);
  assert.deepEqual(a.filter((x) => x.status === 'skipped'), [{ nodeId: 'fp-00003', wave: a.find((x) => x.nodeId === 'fp-00003')!.wave, status: 'skipped', reason: "release 2 is below the node's floor 9" }]);
  // A rollout that stops short of the whole target: nodes past the last wave are not members.
  assert.equal(assignWaves(spec({ waves: [{ percent: 10 }] }), f).length, 2);
});

test('a wave below its success criterion pauses even under the failure threshold', () => {
  const f = fleet(40);
  const order = waveOrder('r-1', f.map((n) => n.id));
  const sim = new Sim(spec({ waves: [{ count: 4 }, { percent: 100 }], threshold: { count: 5 }, minSuccessPercent: 80 }), f, { failing: new Set([order[0]!]) });
  const p = sim.run();
  assert.equal(p.state.status, 'paused');
  assert.equal(p.state.reason, 'wave 1 finished with 3 of 4 nodes committed (75.0%), below its success criterion of 80%');
  assert.equal(sim.offered.length, 4);
});

test('a wave whose nodes are all offline waits: no wave opens without a commit', () => {
  const f = fleet(30).map((n, i) => (i < 30 ? { ...n, online: false } : n));
  const sim = new Sim(spec({ waves: [{ count: 3 }, { percent: 100 }] }), f);
  const p = sim.run(30);
  assert.equal(p.state.wave, 0);
  assert.equal(p.waves[0]!.counts.offline, 3);
  assert.equal(sim.offered.length, 0);
});
