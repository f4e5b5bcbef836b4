// The delta's lookup table on disk against a plain Map of the same keys: first position wins,
// absent keys are -1, keys by position are what was added there; one sorted run or many merged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFile } from '../../../agent/fetch/delta/key-file.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const digest = (n: number) => createHash('sha256').update(`block ${n}`).digest();

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'key-file-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const runEntries of [1 << 17, 997, 64]) {
  test(`finds the first position of every key, by content and by place (runs of ${runEntries})`, () =>
    withDir(async (dir) => {
      const r = seededRandom(runEntries);
      const n = 20_000;
      // many repeats, some in runs (a slot full of zero blocks has one digest thousands of times)
      const contents: number[] = [];
      while (contents.length < n) {
        const c = r() < 0.3 ? Math.floor(r() * 50) : Math.floor(r() * 1e9);
        const times = r() < 0.05 ? 1 + Math.floor(r() * 300) : 1;
        for (let t = 0; t < times && contents.length < n; t++) contents.push(c);
      }
      const t = new KeyFile(join(dir, 'x'), { runEntries });
      const first = new Map<string, number>();
      for (let k = 0; k < n; k++) {
        const d = digest(contents[k]!);
        assert.equal(t.add(d.toString('latin1')), k);
        const hex = d.toString('hex');
        if (!first.has(hex)) first.set(hex, k);
      }
      t.finish();
      assert.deepEqual((await readdir(dir)).sort(), ['x.keys', 'x.pos']);
      for (const [hex, k] of first) assert.equal(t.find(Buffer.from(hex, 'hex')), k, hex);
      for (let m = 0; m < 2000; m++) assert.equal(t.find(digest(-1 - m)), -1);
      // by place: position k holds contents[k] and nothing else (its neighbour's key, when different)
      const table = Buffer.alloc(64);
      for (let k = 0; k < n; k += 7) {
        digest(contents[k]!).copy(table, 32);
        assert.equal(t.keyIs(k, table, 32), true);
        const other = contents.findIndex((c) => c !== contents[k]);
        digest(contents[other]!).copy(table, 0);
        assert.equal(t.keyIs(k, table, 0), false);
      }
      assert.equal(t.keyIs(n, table, 32), false);
      assert.equal(t.keyIs(-1, table, 32), false);
      t.close();
      assert.deepEqual(await readdir(dir), []);
    }));
}

test('keys equal in their first 32 bits are told apart by the next 8; an empty table finds nothing', () =>
  withDir((dir) => {
    const t = new KeyFile(join(dir, 'x'), { runEntries: 1 });
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
    t.close();
    const empty = new KeyFile(join(dir, 'y'));
    empty.finish();
    assert.equal(empty.find(a), -1);
    assert.equal(empty.keyIs(0, a, 0), false);
    empty.close();
  }));

test('a scratch directory that cannot be written is E_STATE_WRITE', () =>
  withDir((dir) => {
    assert.throws(() => new KeyFile(join(dir, 'missing', 'x')), { code: 'E_STATE_WRITE' });
  }));
