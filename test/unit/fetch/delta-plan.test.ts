// The pure delta planner over a real format-2 index: which groups come from local candidates,
// which tables and blocks are fetched, and the estimate that decides delta or full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { StoredIndex, groupDigestOf } from '../../../shared/bundle/stored-index.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { blockRanges, estimate, MAX_GAP, planBlocks, planWindow, tableRanges, type GroupLookup } from '../../../agent/fetch/delta/plan.ts';
import type { LocalRef } from '../../../agent/fetch/delta/local-index.ts';

const BS = 4096;
const G = 4;
const BLOCKS = 22; // 6 groups, the last one short

/** An index of BLOCKS blocks whose digests are sha256("b<i>"), every block stored in 1000 bytes. */
function index(): { idx: StoredIndex; digests: Buffer[] } {
  const digests = Array.from({ length: BLOCKS }, (_, i) => createHash('sha256').update(`b${i}`).digest());
  const groups = Math.ceil(BLOCKS / G);
  const groupDigests = Array.from({ length: groups }, (_, g) => groupDigestOf(Buffer.concat(digests.slice(g * G, g * G + G))));
  const sizes = Buffer.alloc(BLOCKS * 2);
  for (let i = 0; i < BLOCKS; i++) sizes.writeUInt16BE(999, i * 2);
  const entry: PayloadEntry = {
    name: 'p', slotClass: 'rootfs', size: BLOCKS * BS, sha256: '0'.repeat(64), blockSize: BS, blocks: BLOCKS,
    indexSha256: '0'.repeat(64), groupBlocks: G, storedSize: BLOCKS * 32 + BLOCKS * 1000,
  };
  return { idx: new StoredIndex(entry, Buffer.concat([...groupDigests, sizes])), digests };
}

function lookup(groups: Map<string, LocalRef>, blocks: Map<string, number>): GroupLookup {
  return {
    findGroup: (d) => groups.get(d.toString('hex')) ?? null,
    findBlock: (t, at) => blocks.get(t.toString('hex', at, at + 32)) ?? -1,
  };
}

test('groups with a local candidate are local; the rest need their tables; windows respect their limits', () => {
  const { idx } = index();
  const l = lookup(new Map([[idx.groupDigest(1).toString('hex'), { file: 0, offset: 7 * BS * G }]]), new Map());
  const wide = { fetchGroups: Infinity, rawBytes: Infinity };
  const w = planWindow(idx, 0, { ...wide, rawBytes: 3 * G * BS }, l);
  assert.deepEqual(w.map((x) => [x.g, x.local?.offset ?? null]), [[0, null], [1, 7 * BS * G], [2, null]]);
  assert.deepEqual(planWindow(idx, 5, { fetchGroups: 1, rawBytes: 1 }, l).map((x) => x.g), [5]); // always at least one group
  // a local group does not count among the groups whose tables are fetched
  assert.deepEqual(planWindow(idx, 0, { ...wide, fetchGroups: 2 }, l).map((x) => x.g), [0, 1, 2]);
  assert.deepEqual(planWindow(idx, 0, { ...wide, fetchGroups: 1 }, l).map((x) => x.g), [0, 1]);
  const r = tableRanges(idx, 1000, [0, 2]);
  assert.deepEqual(r, [{ start: 1000, end: 1000 + 127 }, { start: 1000 + idx.group(2).tableOffset, end: 1000 + idx.group(2).tableOffset + 127 }]);
});

test('blocks of a fetched table: local candidates by digest, the rest fetched as coalesced ranges', () => {
  const { idx, digests } = index();
  const table = Buffer.concat(digests.slice(4, 8));
  const l = lookup(new Map(), new Map([[digests[5]!.toString('hex'), 99]]));
  const plan = planBlocks(idx, 1, table, l);
  assert.deepEqual([...plan], [-1, 99, -1, -1]); // blocks 4–7: block 5 at local position 99, the rest fetched
  const ranges = blockRanges(idx, 0, [4, 6, 7]);
  const b4 = idx.block(4);
  const b6 = idx.block(6);
  assert.deepEqual(ranges, [{ start: b4.offset, end: b4.offset + 999 }, { start: b6.offset, end: b6.offset + 1999 }]);
  assert.ok(1000 > MAX_GAP, 'a skipped 1000-byte block is not worth fetching');
});

test('estimate: full bytes from the resume group on, delta bytes of groups without a candidate', () => {
  const { idx } = index();
  const none = lookup(new Map(), new Map());
  assert.deepEqual(estimate(idx, 0, none), { fullBytes: idx.entry.storedSize!, deltaBytes: idx.entry.storedSize!, localBytes: 0 });
  const all = lookup(new Map(Array.from({ length: 5 }, (_, g) => [idx.groupDigest(g).toString('hex'), { file: 0, offset: g * G * BS }])), new Map());
  const e = estimate(idx, 9, all); // resume inside group 2: groups 2..5
  assert.equal(e.fullBytes, idx.entry.storedSize! - idx.group(2).tableOffset);
  assert.equal(e.localBytes, 3 * G * BS);
  assert.equal(e.deltaBytes, idx.entry.storedSize! - idx.group(5).tableOffset); // the short last group has no local twin
});
