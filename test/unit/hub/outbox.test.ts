import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, readFile, writeFile, appendFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../../../agent/hub/outbox.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { ReportBody } from '../../../shared/protocol/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (opts: Partial<{ maxBytes: number; maxCount: number; segmentBytes: number }> = {}) =>
  Outbox.open(dir, { maxBytes: 1 << 20, maxCount: 1000, ...opts }, silentLogger());
const state = (n: number): ReportBody => ({ type: 'update.state', at: n, deploymentId: 'd-1', state: `step-${n}` });
const loc = (n: number): ReportBody => ({ type: 'location', at: n, lat: n / 1000, lon: 1, source: 'gnss', fixAt: n });
const inv = (n: number, data: Record<string, number>): ReportBody => ({ type: 'inventory', at: n, mode: 'full', data });
const seqs = (b: Outbox) => b.pendingAfter(0).map((r) => r.seq);

test('reports get consecutive seqs, survive a reopen, and stay until acknowledged', async () => {
  const a = await open({ segmentBytes: 300 });
  for (let i = 1; i <= 10; i++) assert.equal((await a.append(state(i))).seq, i);
  await a.close();
  const b = await open({ segmentBytes: 300 });
  assert.deepEqual(seqs(b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(b.pendingAfter(7).map((r) => r.seq).join(), '8,9,10');
  await b.ack(6);
  assert.deepEqual(seqs(b), [7, 8, 9, 10]);
  assert.equal((await b.append(state(11))).seq, 11);
  await b.close();
  const c = await open({ segmentBytes: 300 });
  assert.equal(c.acked, 6);
  assert.deepEqual(seqs(c), [7, 8, 9, 10, 11]);
  await c.ack(11);
  assert.equal(c.pendingCount, 0);
  await c.close();
  // Fully acknowledged segments are deleted; numbering continues after the watermark.
  const segs = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
  assert.ok(segs.length <= 1, segs.join());
  const d = await open();
  assert.equal((await d.append(state(12))).seq, 12);
  await d.close();
});

test('a torn tail is set aside and the valid prefix kept (crash mid-append)', async () => {
  const a = await open();
  for (let i = 1; i <= 3; i++) await a.append(state(i));
  await a.close();
  const [seg] = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
  await appendFile(join(dir, seg!), '1234abcd {"v":1,"type":"update.st'); // torn write
  const b = await open();
  assert.deepEqual(seqs(b), [1, 2, 3]);
  assert.ok((await readdir(dir)).some((n) => n.includes('.corrupt-')), 'the damaged file is kept for the operator');
  assert.equal((await b.append(state(4))).seq, 4);
  await b.close();
});

test('a line with a wrong checksum ends trust in that segment', async () => {
  const a = await open();
  for (let i = 1; i <= 3; i++) await a.append(state(i));
  await a.close();
  const [seg] = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
  const lines = (await readFile(join(dir, seg!), 'utf8')).split('\n');
  lines[1] = lines[1]!.replace('step-2', 'step-X'); // bit rot: checksum no longer matches
  await writeFile(join(dir, seg!), lines.join('\n'));
  const b = await open();
  assert.deepEqual(seqs(b), [1]);
  await b.close();
});

test('a corrupt watermark is set aside and everything unacked is replayed', async () => {
  const a = await open();
  for (let i = 1; i <= 3; i++) await a.append(state(i));
  await a.ack(1);
  await a.close();
  await writeFile(join(dir, 'acked.json'), '{"acked":');
  const b = await open();
  assert.equal(b.acked, 0);
  assert.deepEqual(seqs(b), [1, 2, 3], 'the hub drops what it already has by seq');
  await b.close();
});

test('over the bound telemetry is coalesced; update state is never dropped', async () => {
  const a = await open({ maxCount: 20 });
  let n = 0;
  for (let round = 0; round < 10; round++) {
    await a.append(state(++n));
    await a.append(loc(++n));
    await a.append(inv(++n, { round, fixed: 1 }));
  }
  const kept = a.pendingAfter(0);
  const states = kept.filter((r) => r.type === 'update.state').length;
  assert.equal(states, 10, 'all update states survive');
  assert.ok(kept.filter((r) => r.type === 'location').length < 10, 'locations were coalesced');
  const last = kept.filter((r) => r.type === 'location').at(-1)!;
  assert.equal(last.seq, 29, 'the latest location is the one kept');
  const s = kept.map((r) => r.seq);
  assert.deepEqual(s, [...s].sort((x, y) => x - y), 'order is kept');
  await a.close();
  const b = await open({ maxCount: 20 });
  assert.deepEqual(seqs(b), s, 'the compacted journal reloads identically');
  await b.close();
});

test('a crash between writing the compacted segment and deleting the old ones loads once', async () => {
  const a = await open({ maxCount: 1000 });
  for (let i = 1; i <= 6; i++) await a.append(i % 2 ? loc(i) : state(i));
  await a.close();
  const [old] = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
  await copyFile(join(dir, old!), join(dir, 'keep'));
  const b = await open({ maxCount: 5 });
  await b.append(state(7)); // triggers compaction
  await b.close();
  await copyFile(join(dir, 'keep'), join(dir, old!)); // as if the unlink never happened
  const c = await open({ maxCount: 5 });
  const s = seqs(c);
  assert.deepEqual(s, [2, 4, 5, 6, 7]);
  await c.close();
});

test('an invalid report is refused before it reaches the journal', async () => {
  const a = await open();
  await assert.rejects(a.append({ type: 'location', at: 1, lat: 500, lon: 0, source: 'gnss', fixAt: 1 }), /E_OUTBOX_INVALID|invalid/);
  assert.equal(a.lastSeq, 0);
  await a.close();
});

test('past the bound with only never-drop reports (below the hard cap), the journal is not rewritten on every append', async () => {
  const a = await open({ maxCount: 30 });
  const other = (i: number): ReportBody => ({ type: 'update.state', at: i, deploymentId: `d-${i}`, state: 'writing' });
  for (let i = 1; i <= 59; i++) await a.append(other(i));
  assert.equal(a.pendingCount, 59, 'nothing dropped below the hard cap of twice the bound');
  await a.close();
  // Each compaction makes a new generation: with the raised trigger a handful, not one per append.
  const gens = (await readdir(dir)).filter((n) => n.startsWith('seg-')).map((n) => Number(n.slice(4, 14)));
  assert.ok(Math.max(...gens) <= 8, `generation ${Math.max(...gens)}`);
  const b = await open({ maxCount: 30 });
  assert.deepEqual(seqs(b), Array.from({ length: 59 }, (_, i) => i + 1));
  await b.close();
});

test('the byte bound coalesces too', async () => {
  const a = await open({ maxBytes: 2000, maxCount: 1000 });
  for (let i = 1; i <= 40; i++) await a.append(loc(i));
  assert.ok(a.pendingBytes <= 2000, `${a.pendingBytes} bytes`);
  assert.equal(a.pendingAfter(0).at(-1)!.seq, 40);
  await a.close();
});

test('regression: a hub watermark above the last seq (outbox lost) moves the counter past it; unsent reports are renumbered, durably', async () => {
  const a = await open();
  for (let i = 1; i <= 7; i++) await a.append(state(i));
  assert.equal(await a.adoptHubWatermark(50), 43);
  assert.equal(a.acked, 50);
  assert.deepEqual(seqs(a), [51, 52, 53, 54, 55, 56, 57]);
  assert.deepEqual(a.pendingAfter(50).map((r) => r.id), ['r-51', 'r-52', 'r-53', 'r-54', 'r-55', 'r-56', 'r-57']);
  assert.equal((await a.append(state(8))).seq, 58);
  await a.close();
  const b = await open();
  assert.equal(b.acked, 50);
  assert.deepEqual(seqs(b), [51, 52, 53, 54, 55, 56, 57, 58]);
  assert.deepEqual(b.pendingAfter(0).map((r) => (r as { state?: string }).state), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `step-${i}`), 'order and content kept');
  assert.equal(await b.adoptHubWatermark(52), 0, 'an ordinary watermark is an ack');
  assert.deepEqual(seqs(b), [53, 54, 55, 56, 57, 58]);
  await b.close();
});

test('regression: never-drop reports are capped; the last outcome of every deployment survives; full at the hard cap', async () => {
  const b = await open({ maxCount: 20 });
  const st = (d: number, n: number): ReportBody => ({ type: 'update.state', at: n, deploymentId: `d-${d}`, state: `s${n}` });
  const out = (d: number): ReportBody => ({ type: 'update.outcome', at: d, deploymentId: `d-${d}`, result: 'failure', code: 'E_X', message: 'x', log: '' });
  const res = (n: number): ReportBody => ({ type: 'command.result', at: n, ref: `c-${n}`, ok: true });
  for (let d = 1; d <= 10; d++) {
    for (let n = 1; n <= 5; n++) await b.append(st(d, n));
    await b.append(out(d));
    for (let n = 1; n <= 3; n++) await b.append(res(d * 10 + n));
    assert.ok(b.pendingCount <= 50, `bounded (${b.pendingCount})`);
  }
  const kept = b.pendingAfter(0);
  for (let d = 1; d <= 10; d++) assert.ok(kept.some((r) => r.type === 'update.outcome' && r.deploymentId === `d-${d}`), `outcome of d-${d} kept`);
  assert.equal(b.full, false);
  for (let d = 11; d <= 60 && !b.full; d++) await b.append(out(d));
  assert.equal(b.full, true, 'only outcomes left and at the hard cap: the node takes no new deployment');
  assert.ok(b.pendingCount <= 50);
  await b.ack(b.lastSeq);
  assert.equal(b.full, false);
  await b.close();
});
