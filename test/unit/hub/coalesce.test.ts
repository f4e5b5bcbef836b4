import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce, mergeInventory } from '../../../agent/hub/coalesce.ts';
import type { InventoryReport, Report } from '../../../shared/protocol/index.ts';

const base = (seq: number) => ({ v: 1 as const, id: `r-${seq}`, seq, at: seq });
const full = (seq: number, data: Record<string, number>): InventoryReport => ({ ...base(seq), type: 'inventory', mode: 'full', data });
const diff = (seq: number, set: Record<string, number>, unset: string[] = []): InventoryReport => ({ ...base(seq), type: 'inventory', mode: 'diff', set, unset });

test('merging diffs onto a full report gives the full state the hub would have computed', () => {
  const m = mergeInventory(mergeInventory(full(1, { a: 1, b: 2 }), diff(2, { c: 3 }, ['a'])), diff(3, { a: 9 }, ['b']));
  assert.deepEqual(m, { ...base(3), type: 'inventory', mode: 'full', data: { c: 3, a: 9 } });
});

test('merging two diffs keeps sets and unsets consistent', () => {
  const m = mergeInventory(diff(1, { a: 1 }, ['x']), diff(2, { x: 5 }, ['a']));
  assert.deepEqual(m, { ...base(2), type: 'inventory', mode: 'diff', set: { x: 5 }, unset: ['a'] });
});

test('coalesce keeps every state, outcome and command result, and the newest of each telemetry kind', () => {
  const rs: Report[] = [
    full(1, { a: 1 }),
    { ...base(2), type: 'update.progress', deploymentId: 'd', phase: 'dl', done: 1, total: 9 },
    { ...base(3), type: 'update.state', deploymentId: 'd', state: 'installing' },
    { ...base(4), type: 'location', lat: 1, lon: 1, source: 's', fixAt: 4 },
    diff(5, { a: 2 }),
    { ...base(6), type: 'update.progress', deploymentId: 'd', phase: 'dl', done: 9, total: 9 },
    { ...base(7), type: 'location', lat: 2, lon: 2, source: 's', fixAt: 7 },
    { ...base(8), type: 'command.result', ref: 'c', ok: true },
    { ...base(9), type: 'update.outcome', deploymentId: 'd', result: 'success', log: '' },
  ];
  const out = coalesce(rs);
  assert.deepEqual(out.map((r) => r.seq), [3, 5, 6, 7, 8, 9]);
  assert.deepEqual(out[1], { ...base(5), type: 'inventory', mode: 'full', data: { a: 2 } });
});

test('coalesced inventory keeps the hash chain: first base, last hash', () => {
  const h = (c: string) => `sha256:${c.repeat(64)}`;
  const d1: InventoryReport = { ...base(1), type: 'inventory', mode: 'diff', base: h('a'), hash: h('b'), set: { x: 1 }, unset: [] };
  const d2: InventoryReport = { ...base(2), type: 'inventory', mode: 'diff', base: h('b'), hash: h('c'), set: { y: 2 }, unset: ['z'] };
  const m = mergeInventory(d1, d2);
  assert.equal(m.mode === 'diff' && m.base, h('a'));
  assert.equal(m.hash, h('c'));
  const f: InventoryReport = { ...base(1), type: 'inventory', mode: 'full', hash: h('a'), data: { z: 0 } };
  const fm = mergeInventory(f, { ...d1, base: h('a') });
  assert.deepEqual(fm, { ...base(1), type: 'inventory', mode: 'full', hash: h('b'), data: { z: 0, x: 1 } });
});
