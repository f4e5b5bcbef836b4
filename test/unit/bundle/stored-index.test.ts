// The format-2 index's checks when it is read: every stored size at most its block's raw size
// (the short last block's own), sizes adding up to the manifest's stored size, and each group's
// place in the payload entry as a sum over the groups before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const BS = 4096;

/** An index of `sizes` (stored bytes per block) in groups of gb, with the entry that matches it. */
function index(sizes: number[], gb: number, lastRaw = BS): { entry: PayloadEntry; bytes: Buffer } {
  const blocks = sizes.length;
  const groups = Math.ceil(blocks / gb);
  const bytes = Buffer.alloc(groups * 32 + blocks * 2);
  sizes.forEach((s, i) => bytes.writeUInt16BE(s - 1, groups * 32 + 2 * i));
  const storedSize = sizes.reduce((a, b) => a + b, 0) + blocks * 32;
  const entry = { name: 'p.img', slotClass: 'rootfs', size: (blocks - 1) * BS + lastRaw, sha256: '0'.repeat(64), blockSize: BS, blocks, indexSha256: '0'.repeat(64), groupBlocks: gb, storedSize };
  return { entry, bytes };
}

test('group offsets are the sums of the tables and stored sizes before each group', () => {
  const r = seededRandom(7);
  for (const gb of [1, 3, 16]) {
    const sizes = Array.from({ length: 50 }, (_, i) => (i === 49 ? 1 + Math.floor(r() * 100) : 1 + Math.floor(r() * BS)));
    const { entry, bytes } = index(sizes, gb, 100);
    const ix = new StoredIndex(entry, bytes);
    let at = 0;
    for (let g = 0; g < ix.groups; g++) {
      const e = ix.group(g);
      assert.equal(e.tableOffset, at, `group ${g} of ${gb}`);
      at += e.tableLength + sizes.slice(e.firstBlock, e.firstBlock + e.blockCount).reduce((a, b) => a + b, 0);
      assert.equal(ix.groupStoredLength(g), at - e.tableOffset);
    }
    sizes.forEach((s, i) => assert.equal(ix.storedLength(i), s));
  }
});

test('a stored size past its raw size is E_BUNDLE_STORED_SIZE, the short last block against its own', () => {
  const bad = (sizes: number[], lastRaw: number) => {
    const { entry, bytes } = index(sizes, 4, lastRaw);
    assert.throws(() => new StoredIndex(entry, bytes), (e) => isOutpostError(e, 'E_BUNDLE_STORED_SIZE'), `${sizes} (last raw ${lastRaw})`);
  };
  bad([BS, BS + 1, 10, 10, 10], 100); // a whole block
  bad([BS, 10, 10, 10, 101], 100); // the short last one: 101 stored bytes for 100
  assert.doesNotThrow(() => new StoredIndex(index([BS, 10, 10, 10, 100], 4, 100).entry, index([BS, 10, 10, 10, 100], 4, 100).bytes));
  // sizes that do not add up to the manifest's stored size
  const { entry, bytes } = index([BS, 10, 10], 2);
  assert.throws(() => new StoredIndex({ ...entry, storedSize: entry.storedSize! + 1 }, bytes), (e) => isOutpostError(e, 'E_BUNDLE_STORED_SIZE'));
});
