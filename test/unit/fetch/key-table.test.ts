// The delta's local lookup table against a plain Map of the same keys: first position wins,
// absent keys are -1, equal 32-bit prefixes are told apart by the next 8 bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTable } from '../../../agent/fetch/delta/key-table.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import { checkEmpty, checkFirstPositions, checkFortyBitKeys, digest } from './local-keys-cases.ts';


test('finds the first position of every key, and nothing for keys never added', () => {
  const r = seededRandom(11);
  const n = 20_000;
  // many repeats (a slot full of zero blocks has one digest thousands of times)
  const contents = Array.from({ length: n }, () => (r() < 0.3 ? Math.floor(r() * 50) : Math.floor(r() * 1e9)));
  checkFirstPositions(new KeyTable(n + 10), contents); // capacity may exceed what is added
});

test('keys equal in their first 32 bits are told apart by the next 8; beyond 40 bits a key is a candidate', () => {
  checkFortyBitKeys(new KeyTable(3));
  checkEmpty(new KeyTable(0));
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
  // the same lookups with the digest as a latin1 string
  assert.equal(t.findLatin1(zero.toString('latin1')), 0);
  assert.equal(t.findLatin1(one.toString('latin1')), 3);
  assert.equal(t.findLatin1(digest(2).toString('latin1')), -1);
  const r = seededRandom(12);
  const many = new KeyTable(5000);
  const ds = Array.from({ length: 5000 }, () => digest(Math.floor(r() * 3000)));
  for (const d of ds) many.add(d.toString('latin1'));
  for (let k = 0; k < 7000; k++) {
    const d = k < 5000 ? ds[k]! : digest(-1 - k);
    assert.equal(many.findLatin1(d.toString('latin1')), many.find(d), `digest ${k}`);
  }
});
