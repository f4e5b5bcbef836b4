// Fleet benchmark: `outpost-hub serve` process(es) and a simulated fleet running the REAL agent
// link code (scripts/fleet-sim/), measured at each fleet size:
//   - connect: time until every node authenticated and its first inventory was acknowledged
//     (node starts spread at --connect-rate per second: a fleet coming online, not a power-on storm)
//   - idle: hub CPU (% of one core) and RSS over an idle period, production timings
//   - report → ack: p50 / p99 from a report's append on the node to the hub's ack, while every
//     node sends one changed inventory (at --report-rate reports/s over the fleet); --rounds
//     bursts, medians printed
//   - persist cost per report: hub CPU per report in those bursts, and appendReports timed on the
//     hub's own database file after the run (SQLite; must not grow with the fleet)
//   - hub kill -9 + restart: reconnect spread and the peak share of the fleet per second (goal <= 5%)
//   - --compare-group: the same bursts again on a hub restarted with group commit off (`group=1`
//     store option: one transaction per report batch), then on one with it on again, for a
//     before/after in the same machine state
//   - optionally (--rollout) a whole rollout of a bundle failing on 3% of the nodes
// Every phase has a deadline (--deadline-s); a phase that misses it prints how far it got and the
// run goes on with the next one. Progress lines every 10 s.
//
//   node scripts/bench-fleet.ts [--sizes 1000,10000] [--workers 4] [--idle-s 30] [--report-rate 500]
//        [--rounds 3] [--compare-group] [--store sqlite|postgres] [--hubs 2] [--deadline-s 900] [--rollout]
//
// --store postgres starts a private PostgreSQL cluster (fsync on) for the run; --hubs N (N > 1 needs
// it) runs N hub processes on it, the fleet's worker processes spread over them.
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connectAll, hubCpuSeconds, hubRssMiB, killAndRestart, percentile, progress, reportBurst, runRollout, setUp, tearDown, waitUntil,
  type BurstRun, type RestartRun, type Rig,
} from './fleet-sim/scenarios.ts';
import { chooseFailing } from './fleet-sim/choose.ts';
import { persistCost } from './fleet-sim/persist-cost.ts';
import type { PgCluster } from '../test/support/postgres.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' }, workers: { type: 'string', default: '4' }, 'idle-s': { type: 'string', default: '30' },
    'report-rate': { type: 'string', default: '500' }, 'down-ms': { type: 'string', default: '2000' }, rollout: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' }, 'compare-group': { type: 'boolean', default: false },
    store: { type: 'string', default: 'sqlite' }, hubs: { type: 'string', default: '1' },
    'connect-rate': { type: 'string', default: '200' }, 'deadline-s': { type: 'string', default: '900' },
  },
});
const out = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const median = (xs: number[]) => percentile(xs, 0.5);
const HUBS = Number(values.hubs);
const ROUNDS = Math.max(1, Number(values.rounds));
const DEADLINE = Number(values['deadline-s']) * 1000;
if (values.store !== 'sqlite' && values.store !== 'postgres') throw new Error('--store: sqlite | postgres');
if (HUBS > 1 && values.store !== 'postgres') throw new Error('--hubs > 1 needs --store postgres (SQLite is one process)');
progress.out = out;

let cluster: PgCluster | null = null;
if (values.store === 'postgres') {
  const { startPostgres } = await import('../test/support/postgres.ts');
  cluster = await startPostgres({ fsync: true });
}

/** Bursts in a row on the rig as it is; medians of their p50, p99 and hub CPU per report. */
async function bursts(rig: Rig, label: string): Promise<{ p50: number; p99: number; hubCpuMs: number; runs: BurstRun[] }> {
  const runs: BurstRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    try {
      const b = await reportBurst(rig, Number(values['report-rate']), DEADLINE);
      runs.push(b);
      out(`  ${rig.fleet.n} ${label}: burst ${i + 1}/${ROUNDS}: report → ack p50 ${f1(b.p50)} ms, p99 ${f1(b.p99)} ms; hub CPU ${b.hubCpuMs.toFixed(2)} ms per report (${(b.ms / 1000).toFixed(0)} s)`);
    } catch (err) {
      out(`  ${rig.fleet.n} ${label}: burst ${i + 1}/${ROUNDS} did not finish: ${(err as Error).message}`);
      break;
    }
  }
  return { p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), hubCpuMs: median(runs.map((r) => r.hubCpuMs)), runs };
}

/** Until every node is back and nothing waits for an ack (after a restart); false at the deadline. */
async function settle(rig: Rig, since: number): Promise<boolean> {
  try {
    await waitUntil('the fleet back and every report acknowledged', async () => rig.fleet.connected(since) >= rig.fleet.n && (await rig.fleet.pending()) === 0,
      DEADLINE, 1000, async () => `${rig.fleet.connected(since)} of ${rig.fleet.n} back, ${await rig.fleet.pending()} reports pending`);
    return true;
  } catch (err) {
    out(`  ${(err as Error).message}`);
    return false;
  }
}

interface Row {
  n: number;
  connectS: number;
  idleCpuPct: number;
  idleRssMiB: number[];
  burst: Awaited<ReturnType<typeof bursts>>;
  groupOff?: Awaited<ReturnType<typeof bursts>>;
  groupOn2?: Awaited<ReturnType<typeof bursts>>;
  appendMs: number;
  restart: RestartRun | null;
  rollout?: Awaited<ReturnType<typeof runRollout>>;
}

// Ctrl-C / SIGTERM: stop the hub processes, the workers and the private PostgreSQL, then exit.
let live: Rig | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    out(`${sig}: stopping the fleet, the hub processes${cluster ? ' and PostgreSQL' : ''}`);
    void tearDown(live).finally(async () => {
      await cluster?.stop();
      process.exit(130);
    });
  });
}

async function measure(n: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), `bench-fleet-${n}-`));
  const db = cluster ? `bench_${n}_${process.pid}` : null;
  const store = cluster && db ? await cluster.createDatabase(db) : `sqlite:${join(dir, 'hub.db')}`;
  const withGroup = (g: number) => `${store}${store.includes('?') ? '&' : '?'}group=${g}`;
  let rig: Rig | null = null;
  try {
    const failing = chooseFailing(n, 3, 'bench-fleet');
    rig = await setUp({ dir, nodes: n, workers: Number(values.workers), failing, stepMs: 500, store, hubs: HUBS });
    live = rig;
    const spreadMs = (1000 * n) / Number(values['connect-rate']);
    const connectS = (await connectAll(rig, DEADLINE + spreadMs, spreadMs)) / 1000;
    out(`  ${n}: connected in ${f1(connectS)} s (starts spread over ${f1(spreadMs / 1000)} s)`);

    await sleep(5000); // let the connect burst settle
    const c0 = await hubCpuSeconds(rig);
    const t0 = Date.now();
    await sleep(Number(values['idle-s']) * 1000);
    const idleCpuPct = (100 * ((await hubCpuSeconds(rig)) - c0)) / ((Date.now() - t0) / 1000);
    const idleRssMiB = await hubRssMiB(rig);
    out(`  ${n}: idle hub CPU ${f1(idleCpuPct)}% of a core, RSS ${idleRssMiB.map(f1).join(' + ')} MiB`);

    const burst = await bursts(rig, 'group commit on');

    let restart: RestartRun | null = null;
    try {
      const before = await rig.fleet.redials();
      restart = await killAndRestart(rig, Number(values['down-ms']), DEADLINE);
      const causes = [...(await rig.fleet.redials())].map(([why, r]) => [why, r.count - (before.get(why)?.count ?? 0), r.maxDelayMs] as const).filter(([, k]) => k > 0);
      out(`  ${n}: links down and redialled since the kill: ${causes.map(([why, k, max]) => `${why} ×${k} (longest wait ${f1(max / 1000)} s)`).join('; ')}`);
      out(`  ${n}: after kill + restart: ${restart.back} of ${n} back; p50 ${restart.p50} ms, p99 ${restart.p99} ms, last ${restart.max} ms; peak ${restart.peakPerSecond}/s = ${f1(100 * restart.peakShare)}% of the fleet`);
      out(`  ${n}: per second: ${restart.histogram.map(([s, k]) => `${s}:${k}`).join(' ')}`);
      // What a node sees is the hub's acceptance; a worker shared by thousands of nodes may handle it late, in bunches.
      out(`  ${n}: by when the hub sent the acceptance: peak ${restart.hubSent.peakPerSecond}/s = ${f1(100 * restart.hubSent.peakShare)}%; per second: ${restart.hubSent.histogram.map(([s, k]) => `${s}:${k}`).join(' ')}`);
      out(`  ${n}: hub admission log, all processes: peak admitted ${restart.admission.peakAdmitted}/s, authenticated ${restart.admission.peakAuthenticated}/s; per second admitted/authenticated/refused: ${restart.admission.seconds.map(([s, c]) => `${s}:${c.admitted}/${c.authenticated}/${c.refused}`).join(' ')}`);
    } catch (err) {
      out(`  ${n}: kill + restart failed: ${(err as Error).message}`);
    }

    let groupOff, groupOn2;
    if (values['compare-group']) {
      // Same fleet, same machine, minutes apart: off, then on again (brackets the drift of the load).
      for (const [g, label] of [[1, 'group commit off'], [0, 'group commit on, again']] as const) {
        const since = Date.now();
        const restarted = await killAndRestart(rig, 500, DEADLINE, g ? withGroup(g) : store);
        out(`  ${n}: restarted for "${label}": ${restarted.back} of ${n} back`);
        if (!(await settle(rig, since))) break;
        if (g) groupOff = await bursts(rig, label);
        else groupOn2 = await bursts(rig, label);
      }
    }

    let rollout;
    if (values.rollout) {
      await settle(rig, 0);
      rollout = await runRollout(rig, { id: 'bench', version: '2.0', release: 2, waves: ['1%', '10%', '50%', '100%'], maxFailurePercent: 2, timeoutMs: DEADLINE });
      out(`  ${n}: rollout of a bundle failing on 3%: ${rollout.status} in wave ${rollout.wave} after ${f1(rollout.ms / 1000)} s, ${rollout.offeredNodes} offered, later waves reached: ${rollout.laterOffered}`);
    }
    await tearDown(rig);
    rig = live = null;
    const appendMs = cluster ? NaN : await persistCost(join(dir, 'hub.db'), 2000);
    if (!cluster) out(`  ${n}: appendReports on the hub's database: ${appendMs.toFixed(3)} ms per report`);
    return { n, connectS, idleCpuPct, idleRssMiB, burst, ...(groupOff ? { groupOff } : {}), ...(groupOn2 ? { groupOn2 } : {}), appendMs, restart, ...(rollout ? { rollout } : {}) };
  } finally {
    await tearDown(rig);
    if (cluster && db) await cluster.dropDatabase(db).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    await rm(`/dev/shm/${dir.split('/').pop()}-agents`, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
const storeName = cluster ? 'PostgreSQL (private cluster, fsync on)' : 'SQLite';
out(`bench-fleet: ${HUBS} hub process${HUBS > 1 ? 'es' : ''}, ${storeName} store, ${values.workers} worker processes of real agent links, ${ROUNDS} burst(s) at ${values['report-rate']} reports/s`);
try {
  for (const n of values.sizes.split(',').map(Number)) {
    try {
      rows.push(await measure(n));
    } catch (err) {
      out(`  ${n}: did not finish: ${(err as Error).message}`);
    }
  }
} finally {
  await cluster?.stop();
}
out('');
out(`| nodes | connect s | idle CPU % | idle RSS MiB | report→ack p50 ms | p99 ms | hub CPU ms/report | appendReports ms | restart: back | peak %/s (node side / hub sent) | reconnect p50 / p99 / last s |`);
out('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const s = r.restart;
  out(`| ${r.n} | ${f1(r.connectS)} | ${f1(r.idleCpuPct)} | ${r.idleRssMiB.map(f1).join(' + ')} | ${f1(r.burst.p50)} | ${f1(r.burst.p99)} | ${r.burst.hubCpuMs.toFixed(2)} | ${Number.isFinite(r.appendMs) ? r.appendMs.toFixed(3) : '–'} | ${s ? `${s.back}/${r.n}` : '–'} | ${s ? `${f1(100 * s.peakShare)} / ${f1(100 * s.hubSent.peakShare)}` : '–'} | ${s ? `${f1(s.p50 / 1000)} / ${f1(s.p99 / 1000)} / ${f1(s.max / 1000)}` : '–'} |`);
}
if (rows.some((r) => r.groupOff)) {
  out('');
  out('| nodes | group commit on: p50 / p99 ms | off (group=1): p50 / p99 ms | on again: p50 / p99 ms | hub CPU ms/report on / off / on |');
  out('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    if (!r.groupOff) continue;
    const pp = (b?: Row['burst']) => (b ? `${f1(b.p50)} / ${f1(b.p99)}` : '–');
    out(`| ${r.n} | ${pp(r.burst)} | ${pp(r.groupOff)} | ${pp(r.groupOn2)} | ${[r.burst, r.groupOff, r.groupOn2].map((b) => (b ? b.hubCpuMs.toFixed(2) : '–')).join(' / ')} |`);
  }
}
if (rows.length > 1) {
  const [a, b] = [rows[0]!, rows[rows.length - 1]!];
  out(`persist cost ${b.n} vs ${a.n} nodes: appendReports ×${(b.appendMs / a.appendMs).toFixed(2)}, hub CPU per report ×${(b.burst.hubCpuMs / a.burst.hubCpuMs).toFixed(2)}`);
}
for (const r of rows) if (r.rollout) out(`rollout at ${r.n}: ${r.rollout.status} in wave ${r.rollout.wave}; waves ${r.rollout.waves.map((w) => `${w.wave}:${w.size}${w.opened ? '' : '(closed)'}`).join(' ')}; nodes of later waves that got it: ${r.rollout.laterOffered}`);
process.exit(0);
