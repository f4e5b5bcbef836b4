// Benchmark: persist cost of one report (appendReports: one transaction, committed before the
// ack) on a store holding 1,000 vs 10,000 nodes' worth of rows — every node with an inventory
// (~150 keys) and a report history — for SQLite (synchronous FULL, the default, and NORMAL) and
// PostgreSQL (private cluster, fsync on; synchronous_commit on, the default, and off). With
// durable commits a sequential report costs about one fsync of this disk; the "burst" columns show
// what group commit makes of many nodes reporting at once (against group=1 in the same run). Reference in the same run: the old dev hub's whole-file
// JSON rewrite of the same fleet. Reports medians (ms) and the 10k/1k ratio.
//
//   node scripts/bench-store.ts [--nodes 1000,10000] [--samples 400] [--history 20] [--stores sqlite,postgres,json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../hub/store/sqlite/index.ts';
import { openPostgresStore } from '../hub/store/postgres/index.ts';
import type { HubStore } from '../hub/store/types.ts';
import { hashFlat } from '../agent/inventory/hash.ts';
import { writeFileAtomic } from '../agent/lib/atomic-file.ts';
import type { Inventory, Report } from '../shared/protocol/index.ts';
import { postgresBinDir, startPostgres } from '../test/support/postgres.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000,10000' },
    samples: { type: 'string', default: '400' },
    history: { type: 'string', default: '20' },
    stores: { type: 'string', default: 'sqlite,postgres,json' },
  },
});
const SIZES = values.nodes.split(',').map(Number);
const SAMPLES = Number(values.samples);
const HISTORY = Number(values.history);
const STORES = new Set(values.stores.split(','));
const out = (s: string) => process.stdout.write(s + '\n');

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const idOf = (i: number) => createHash('sha256').update(`bench-node-${i}`).digest('hex');

function inventoryOf(i: number): Inventory {
  const inv: Inventory = {};
  for (let k = 0; k < 150; k++) inv[`hw.section${k % 12}.item${k}`] = k % 3 ? `value-${i}-${k}-${'x'.repeat(k % 20)}` : k * i;
  return inv;
}

interface NodeState { id: string; seq: number; inv: Inventory; hash: string }

async function populate(s: HubStore, n: number, concurrency: number): Promise<NodeState[]> {
  const nodes: NodeState[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const id = idOf(i);
      await s.admitNode({ id, publicKey: 'k', deviceId: `site-${i}`, agentVersion: '1.0.0', compatible: ['board-a'], site: { id: `s${i % 400}` },
        running: { version: '1.0', release: 1, slot: 'a' }, autoAccept: true, now: Date.now() });
      const inv = inventoryOf(i);
      const hash = hashFlat(inv);
      const reports: Report[] = [{ v: 1, id: 'r1', seq: 1, at: Date.now(), type: 'inventory', mode: 'full', data: inv, hash }];
      for (let h = 2; h <= HISTORY; h++) {
        reports.push(h % 2
          ? { v: 1, id: `r${h}`, seq: h, at: Date.now(), type: 'location', lat: 48 + rnd(), lon: 11 + rnd(), source: 'gnss', fixAt: Date.now() }
          : { v: 1, id: `r${h}`, seq: h, at: Date.now(), type: 'command.result', ref: `c${h}`, ok: true });
      }
      await s.appendReports(id, reports, Date.now());
      nodes[i] = { id, seq: HISTORY, inv, hash };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return nodes;
}

/** One idle-time report for a node: an inventory diff (2 keys) or a location fix, alternating. */
function nextReport(n: NodeState): Report {
  n.seq++;
  if (n.seq % 2) return { v: 1, id: `r${n.seq}`, seq: n.seq, at: Date.now(), type: 'location', lat: 48 + rnd(), lon: 11 + rnd(), source: 'gnss', fixAt: Date.now() };
  const set = { 'hw.section0.item0': n.seq, 'os.uptimeS': n.seq * 60 };
  const inv = { ...n.inv, ...set };
  const hash = hashFlat(inv);
  const r: Report = { v: 1, id: `r${n.seq}`, seq: n.seq, at: Date.now(), type: 'inventory', mode: 'diff', base: n.hash, hash, set, unset: [] };
  n.inv = inv;
  n.hash = hash;
  return r;
}

async function measure(s: HubStore, nodes: NodeState[]): Promise<{ median: number; p90: number }> {
  // Warm-up (statement caches, first pages): not timed.
  for (let k = 0; k < 50; k++) {
    const n = nodes[Math.floor(rnd() * nodes.length)]!;
    await s.appendReports(n.id, [nextReport(n)], Date.now());
  }
  const times: number[] = [];
  for (let k = 0; k < SAMPLES; k++) {
    const n = nodes[Math.floor(rnd() * nodes.length)]!;
    const r = nextReport(n);
    const t = performance.now();
    const res = await s.appendReports(n.id, [r], Date.now());
    times.push(performance.now() - t);
    if (res.ackedSeq !== n.seq || res.inventoryRefresh) throw new Error('bench report not applied');
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p90: times[Math.floor(times.length * 0.9)]! };
}

interface Burst {
  /** ms per report, amortised over the burst (median of the rounds). */
  amortised: number;
  /** Per report, from the call to its commit (the hub acks then), over every round. */
  p50: number;
  p99: number;
}

/**
 * Many nodes reporting at once (after a restart, a busy minute), on the store with group commit
 * (`on`) and on the same database without it (`off`, group=1: one transaction per report), in
 * alternating rounds so both see the same machine state.
 */
async function measureBurst(on: HubStore, off: HubStore, nodes: NodeState[], burst: number): Promise<{ on: Burst; off: Burst }> {
  const acc = { on: { rounds: [] as number[], lat: [] as number[] }, off: { rounds: [] as number[], lat: [] as number[] } };
  for (let k = 0; k < 10; k++) {
    const which = k % 2 ? 'off' : 'on';
    const s = which === 'on' ? on : off;
    const start = Math.floor(rnd() * (nodes.length - burst));
    const batch = nodes.slice(start, start + burst).map((n) => ({ n, r: nextReport(n) }));
    const t = performance.now();
    await Promise.all(batch.map(async ({ n, r }) => {
      await s.appendReports(n.id, [r], Date.now());
      acc[which].lat.push(performance.now() - t);
    }));
    acc[which].rounds.push((performance.now() - t) / burst);
  }
  const sum = (a: { rounds: number[]; lat: number[] }): Burst => {
    const r = [...a.rounds].sort((x, y) => x - y);
    const l = [...a.lat].sort((x, y) => x - y);
    return { amortised: r[Math.floor(r.length / 2)]!, p50: l[Math.floor(l.length / 2)]!, p99: l[Math.floor(l.length * 0.99)]! };
  };
  return { on: sum(acc.on), off: sum(acc.off) };
}

/** The old dev hub: the whole fleet as one JSON document, rewritten atomically per save. */
async function jsonRewrite(dir: string, nodes: NodeState[]): Promise<{ median: number; p90: number }> {
  const state = { version: 1, preauthorized: [], nodes: Object.fromEntries(nodes.map((n) => [n.id, {
    fingerprint: n.id, deviceId: n.id.slice(0, 8), status: 'accepted', groups: [], inventory: n.inv, inventoryHash: n.hash,
    history: Array.from({ length: HISTORY }, (_, i) => ({ seq: i + 1, type: 'location', at: Date.now() })), ackedSeq: n.seq,
  }])) };
  const times: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t = performance.now();
    await writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[3]!, p90: times[6]! };
}

const BURST = 200;
const results: Array<{ store: string; nodes: number; median: number; p90: number; burst?: { on: Burst; off: Burst } }> = [];
const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
try {
  if (STORES.has('sqlite') || STORES.has('json')) {
    for (const n of SIZES) {
      const file = join(dir, `hub-${n}.db`);
      const fill = await openSqliteStore(file, { synchronous: 'normal' });
      const nodes = await populate(fill, n, 1);
      await fill.close();
      // Start from a checkpointed file, as a hub that has been running a while would.
      const raw = new DatabaseSync(file);
      raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      raw.close();
      if (STORES.has('sqlite')) {
        for (const sync of ['full', 'normal'] as const) {
          const s = await openSqliteStore(file, { synchronous: sync });
          const alone = await openSqliteStore(file, { synchronous: sync, group: 1 });
          results.push({ store: `sqlite (synchronous=${sync})`, nodes: n, ...(await measure(s, nodes)), burst: await measureBurst(s, alone, nodes, BURST) });
          await alone.close();
          await s.close();
        }
      }
      if (STORES.has('json')) results.push({ store: 'json file rewrite (old dev hub)', nodes: n, ...(await jsonRewrite(dir, nodes)) });
    }
  }
  if (STORES.has('postgres')) {
    if (!postgresBinDir()) out('postgres: skipped (install the Debian package postgresql)');
    else {
      const cluster = await startPostgres({ fsync: true });
      try {
        for (const n of SIZES) {
          const url = await cluster.createDatabase(`bench_${n}`);
          // Filling need not be durable; measuring is (synchronous_commit back on).
          const fill = await openPostgresStore(`${url}?options=${encodeURIComponent('-c synchronous_commit=off')}`, { poolSize: 8 });
          const nodes = await populate(fill, n, 8);
          await fill.close();
          const admin = new Client({ connectionString: url });
          await admin.connect();
          await admin.query('VACUUM ANALYZE');
          await admin.query('CHECKPOINT');
          await admin.end();
          for (const sync of ['on', 'off']) {
            // Grouped explicitly: PostgreSQL's default is one transaction per batch.
            const s = await openPostgresStore(`${url}?options=${encodeURIComponent(`-c synchronous_commit=${sync}`)}`, { group: 32 });
            const alone = await openPostgresStore(`${url}?options=${encodeURIComponent(`-c synchronous_commit=${sync}`)}`, { group: 1 });
            results.push({ store: `postgres (synchronous_commit=${sync})`, nodes: n, ...(await measure(s, nodes)), burst: await measureBurst(s, alone, nodes, BURST) });
            await alone.close();
            await s.close();
          }
        }
      } finally {
        await cluster.stop();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

out(`persist cost per report (appendReports, committed), ${SAMPLES} samples, ${HISTORY} history reports + ~150-key inventory per node`);
out(`burst: ${BURST} nodes reporting at once, group commit on (default) vs off (group=1), alternating rounds (5 each):`);
out('  ms per report amortised (median of rounds); per-report latency call → commit p50 / p99 (ms, all rounds)');
out('store                               nodes    median ms   p90 ms   vs smallest fleet   burst ms/report on / off   burst p50 / p99 on   burst p50 / p99 off');
for (const r of results) {
  const base = results.find((x) => x.store === r.store && x.nodes === SIZES[0])!;
  const b = r.burst;
  out(`${r.store.padEnd(35)} ${String(r.nodes).padStart(6)} ${r.median.toFixed(3).padStart(11)} ${r.p90.toFixed(3).padStart(8)}   ${`${(r.median / base.median).toFixed(2)}x`.padStart(17)}   `
    + (b ? `${`${b.on.amortised.toFixed(3)} / ${b.off.amortised.toFixed(3)}`.padStart(24)}   ${`${b.on.p50.toFixed(1)} / ${b.on.p99.toFixed(1)}`.padStart(18)}   ${`${b.off.p50.toFixed(1)} / ${b.off.p99.toFixed(1)}`.padStart(19)}` : '-'));
}
