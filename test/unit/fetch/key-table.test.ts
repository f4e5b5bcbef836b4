// The delta's local lookup table against a plain Map of the same keys: first position wins,
// absent keys are -1, equal 32-bit prefixes are told apart by the next 8 bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KeyTable } from '../../../agent/fetch/delta/key-table.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const digest = (n: number) => createHash('sha256').update(`block ${n}`).digest();

test('finds the first position of every key, and nothing for keys never added', () => {
  const r = seededRandom(11);
  const n = 20_000;
  // many repeats (a slot full of zero blocks has one digest thousands of times)
  const contents = Array.from({ length: n }, () => (r() < 0.3 ? Math.floor(r() * 50) : Math.floor(r() * 1e9)));
  const t = new KeyTable(n + 10); // capacity may exceed what is added
  const first = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const d = digest(contents[k]!);
    assert.equal(t.add(d.toString('latin1')), k);
    const hex = d.toString('hex');
    if (!first.has(hex)) first.set(hex, k);
  }
  t.sort();
  for (const [hex, k] of first) assert.equal(t.find(Buffer.from(hex, 'hex')), k);
  for (let m = 0; m < 2000; m++) assert.equal(t.find(digest(-1 - m)), -1);
});

test('keys equal in their first 32 bits are told apart by the next 8; beyond 40 bits a key is a candidate', () => {
  const t = new KeyTable(3);
  const a = Buffer.alloc(32, 0xab);
  const b = Buffer.from(a);
  b[4] = 0x01;
  const c = Buffer.from(a);
  c[5] = 0x00; // same 40 bits as a: found as a candidate the caller checks
  const d = Buffer.from(a);
  d[4] = 0x00;
  t.add(a.toString('latin1'));
  t.add(b.toString('latin1'));
  t.sort();
  assert.equal(t.find(a), 0);
  assert.equal(t.find(b), 1);
  assert.equal(t.find(c), 0);
  assert.equal(t.find(d), -1);
  const empty = new KeyTable(0);
  empty.sort();
  assert.equal(empty.find(a), -1);
});

test('a run of one key keeps its first position; positions go on past what the capacity holds', () => {
  const t = new KeyTable(4);
  const zero = digest(0);
  const one = digest(1);
  assert.deepEqual([zero, zero, zero, one, zero, one].map((d) => t.add(d.toString('latin1'))), [0, 1, 2, 3, 4, 5]);
  // kept: 0, 3, 4, 5 (capacity 4); a seventh entry is dropped, its position still counted
  assert.equal(t.add(digest(2).toString('latin1')), 6);
  assert.equal(t.size, 7);
  assert.equal(t.find(zero), 0);
  assert.equal(t.find(one), 3);
  assert.equal(t.find(digest(2)), -1);
});
