// Cases both tables of local keys (key-table.ts in memory, key-file.ts on disk) must pass.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { LocalKeys } from '../../../agent/fetch/delta/key-table.ts';

/** Keys equal in their first 32 bits are told apart by the next 8; beyond 40 bits a key is a candidate. */
export function checkFortyBitKeys(t: LocalKeys): void {
  const a = Buffer.alloc(32, 0xab);
  const b = Buffer.from(a);
  b[4] = 0x01;
  const c = Buffer.from(a);
  c[5] = 0x00; // same 40 bits as a: found as a candidate the caller checks
  const d = Buffer.from(a);
  d[4] = 0x00;
  t.add(a.toString('latin1'));
  t.add(b.toString('latin1'));
  t.finish();
  assert.equal(t.find(a), 0);
  assert.equal(t.find(b), 1);
  assert.equal(t.find(c), 0);
  assert.equal(t.find(d), -1);
}

/** An empty table finds nothing. */
export function checkEmpty(t: LocalKeys): void {
  t.finish();
  const a = Buffer.alloc(32, 0xab);
  assert.equal(t.find(a), -1);
  assert.equal(t.keyIs(0, a, 0), false);
}

export const digest = (n: number): Buffer => createHash('sha256').update(`block ${n}`).digest();

/** Adds the digests of `contents` in order; each key is then found at its first position, absent keys nowhere. */
export function checkFirstPositions(t: LocalKeys, contents: readonly number[]): void {
  const first = new Map<string, number>();
  for (let k = 0; k < contents.length; k++) {
    const d = digest(contents[k]!);
    assert.equal(t.add(d.toString('latin1')), k);
    const hex = d.toString('hex');
    if (!first.has(hex)) first.set(hex, k);
  }
  t.finish();
  for (const [hex, k] of first) assert.equal(t.find(Buffer.from(hex, 'hex')), k, hex);
  for (let m = 0; m < 2000; m++) assert.equal(t.find(digest(-1 - m)), -1);
}
