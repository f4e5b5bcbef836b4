// The delta's lookup table on disk against a plain Map of the same keys: first position wins,
// absent keys are -1, keys by position are what was added there; one sorted run or many merged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFile } from '../../../agent/fetch/delta/key-file.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import { checkEmpty, checkFirstPositions, checkFortyBitKeys, digest } from './local-keys-cases.ts';


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
      checkFirstPositions(t, contents);
      assert.deepEqual((await readdir(dir)).sort(), ['x.keys', 'x.pos']);
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
    // runs of 1: two runs merged; of 2: one full run, written before the scan ended; of 3: one run left at the end
    for (const runEntries of [1, 2, 3]) {
      const t = new KeyFile(join(dir, `x${runEntries}`), { runEntries });
      checkFortyBitKeys(t);
      t.close();
    }
    const empty = new KeyFile(join(dir, 'y'));
    checkEmpty(empty);
    empty.close();
  }));

test('a full run written during the scan and what is left at its end are merged', () =>
  withDir((dir) => {
    const t = new KeyFile(join(dir, 'x'), { runEntries: 700 });
    checkFirstPositions(t, Array.from({ length: 1000 }, (_, k) => 1000 - k));
    t.close();
  }));

test('a scratch directory that cannot be written is E_STATE_WRITE', () =>
  withDir((dir) => {
    assert.throws(() => new KeyFile(join(dir, 'missing', 'x')), { code: 'E_STATE_WRITE' });
  }));
