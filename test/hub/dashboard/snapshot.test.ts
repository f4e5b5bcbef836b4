// The dashboard's shared fleet read: one store read per filter while it is young, a fresh one
// after, a failed read never shared, and sorted orders computed once per snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetSnapshots } from '../../../hub/dashboard/snapshot.ts';
import type { NodeFilter, NodeRow } from '../../../hub/store/types.ts';

const row = (id: string, deviceId: string) => ({ id, deviceId, name: null }) as unknown as NodeRow;

test('a young snapshot is shared, an old one is read again, per filter', async () => {
  let now = 1000;
  const reads: NodeFilter[] = [];
  const s = new FleetSnapshots(async (f) => { reads.push(f); return [row('b', 'x'), row('a', 'y')]; }, { maxAgeMs: 1000, now: () => now });
  await Promise.all([s.nodes({}), s.nodes({}), s.sorted({}, 'name', (n) => n.deviceId)]);
  assert.equal(reads.length, 1, 'concurrent requests share one read');
  await s.nodes({ group: 'east' });
  assert.equal(reads.length, 2, 'another filter is another read');
  now += 999;
  await s.nodes({});
  assert.equal(reads.length, 2);
  now += 1;
  await s.nodes({});
  assert.equal(reads.length, 3, 'a second old: read again');
});

test('sorted: ascending by key, ties by id, computed once per snapshot', async () => {
  let keys = 0;
  const s = new FleetSnapshots(async () => [row('c', 'm'), row('b', 'm'), row('a', 'z')], { now: () => 0 });
  const key = (n: NodeRow) => { keys++; return n.deviceId; };
  assert.deepEqual((await s.sorted({}, 'name', key)).map((n) => n.id), ['b', 'c', 'a']);
  assert.deepEqual((await s.sorted({}, 'name', key)).map((n) => n.id), ['b', 'c', 'a']);
  assert.equal(keys, 3, 'one key per node, once');
});

test('a failed read is not shared: the next request reads again', async () => {
  let calls = 0;
  const s = new FleetSnapshots(async () => { if (calls++ === 0) throw new Error('store down'); return []; }, { now: () => 0 });
  await assert.rejects(s.nodes({}), /store down/);
  assert.deepEqual(await s.nodes({}), []);
  assert.equal(calls, 2);
});

test('a caller may accept an older list, up to the kept limit; the default stays short', async () => {
  let now = 0;
  let reads = 0;
  const s = new FleetSnapshots(async () => { reads++; return []; }, { maxAgeMs: 1000, now: () => now });
  await s.nodes({});
  now = 5000;
  await s.nodes({}, 10_000);
  assert.equal(reads, 1, 'a 5 s old list serves a caller who accepts 10 s');
  await s.nodes({});
  assert.equal(reads, 2, 'the default caller reads again');
  now = 5000 + 20_000;
  await s.nodes({}, 60_000);
  assert.equal(reads, 3, 'never older than the kept limit');
});
