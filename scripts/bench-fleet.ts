// Fleet benchmark: one `outpost-hub serve` process on the SQLite store, a simulated fleet running
// the REAL agent link code (scripts/fleet-sim/), measured at each fleet size:
//   - connect: time until every node authenticated and its first inventory was acknowledged
//   - idle: hub CPU (% of one core) and RSS over an idle period, production timings
//   - report → ack: p50 / p99 from a report's append on the node to the hub's ack, while every
//     node sends one changed inventory (at --report-rate reports/s over the fleet)
//   - persist cost per report: hub CPU per report in that phase, and appendReports timed on the
//     hub's own database file after the run (must not grow with the fleet)
//   - hub kill -9 + restart: reconnect spread and the peak share of the fleet per second (goal <= 5%)
//   - optionally (--rollout) a whole rollout of a bundle failing on 3% of the nodes
//
//   node scripts/bench-fleet.ts [--sizes 1000,10000] [--workers 4] [--idle-s 30] [--report-rate 500] [--rollout]
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAll, killAndRestart, percentile, runRollout, setUp, tearDown, waitUntil, type Rig } from './fleet-sim/scenarios.ts';
import { chooseFailing } from './fleet-sim/choose.ts';
import { persistCost } from './fleet-sim/persist-cost.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' }, workers: { type: 'string', default: '4' }, 'idle-s': { type: 'string', default: '30' },
    'report-rate': { type: 'string', default: '500' }, 'down-ms': { type: 'string', default: '2000' }, rollout: { type: 'boolean', default: false },
  },
});
const out = (s: string) => process.stdout.write(s + '\n');
const f1 = (x: number) => x.toFixed(1);

interface Row {
  n: number;
  connectS: number;
  idleCpuPct: number;
  idleRssMiB: number;
  p50: number;
  p99: number;
  hubCpuMsPerReport: number;
  appendMs: number;
  restart: Awaited<ReturnType<typeof killAndRestart>>;
  rollout?: Awaited<ReturnType<typeof runRollout>>;
}

async function measure(n: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), `bench-fleet-${n}-`));
  let rig: Rig | null = null;
  try {
    const failing = chooseFailing(n, 3, 'bench-fleet');
    rig = await setUp({ dir, nodes: n, workers: Number(values.workers), failing, stepMs: 500 });
    const connectS = (await connectAll(rig, 1_800_000)) / 1000;
    out(`  ${n}: connected in ${f1(connectS)} s`);

    await sleep(5000); // let the connect burst settle
    const c0 = await rig.hub.cpuSeconds();
    const t0 = Date.now();
    await sleep(Number(values['idle-s']) * 1000);
    const idleCpuPct = (100 * ((await rig.hub.cpuSeconds()) - c0)) / ((Date.now() - t0) / 1000);
    const idleRssMiB = await rig.hub.rssMiB();
    out(`  ${n}: idle hub CPU ${f1(idleCpuPct)}% of a core, RSS ${f1(idleRssMiB)} MiB`);

    rig.fleet.latencies.length = 0;
    const spreadMs = (1000 * n) / Number(values['report-rate']);
    const r0 = await rig.hub.cpuSeconds();
    rig.fleet.refreshInventories(spreadMs);
    await sleep(spreadMs);
    const f = rig.fleet;
    await waitUntil('every changed inventory acknowledged', () => f.latencies.length >= n, 600_000, 500);
    const hubCpuMsPerReport = (1000 * ((await rig.hub.cpuSeconds()) - r0)) / f.latencies.length;
    const p50 = percentile(f.latencies, 0.5);
    const p99 = percentile(f.latencies, 0.99);
    out(`  ${n}: report → ack p50 ${f1(p50)} ms, p99 ${f1(p99)} ms; hub CPU ${f1(hubCpuMsPerReport)} ms per report`);

    const restart = await killAndRestart(rig, Number(values['down-ms']), 1_800_000);
    out(`  ${n}: after kill + restart: p50 ${restart.p50} ms, p99 ${restart.p99} ms, last ${restart.max} ms; peak ${restart.peakPerSecond}/s = ${f1(100 * restart.peakShare)}% of the fleet`);

    let rollout;
    if (values.rollout) {
      await waitUntil('every initial report acknowledged', async () => (await rig!.fleet.pending()) === 0, 600_000, 1000);
      rollout = await runRollout(rig, { id: 'bench', version: '2.0', release: 2, waves: ['1%', '10%', '50%', '100%'], maxFailurePercent: 2, timeoutMs: 1_800_000 });
      out(`  ${n}: rollout of a bundle failing on 3%: ${rollout.status} in wave ${rollout.wave} after ${f1(rollout.ms / 1000)} s, ${rollout.offeredNodes} offered, later waves reached: ${rollout.laterOffered}`);
    }
    await tearDown(rig);
    rig = null;
    const appendMs = await persistCost(join(dir, 'hub.db'), 2000);
    out(`  ${n}: appendReports on the hub's database: ${appendMs.toFixed(3)} ms per report`);
    return { n, connectS, idleCpuPct, idleRssMiB, p50, p99, hubCpuMsPerReport, appendMs, restart, ...(rollout ? { rollout } : {}) };
  } finally {
    await tearDown(rig);
    await rm(dir, { recursive: true, force: true });
    await rm(`/dev/shm/${dir.split('/').pop()}-agents`, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
out(`bench-fleet: one hub process, SQLite store, ${values.workers} worker processes of real agent links`);
for (const n of values.sizes.split(',').map(Number)) rows.push(await measure(n));
out('');
out('| nodes | connect s | idle CPU % | idle RSS MiB | report→ack p50 ms | p99 ms | hub CPU ms/report | appendReports ms | restart peak %/s | reconnect p50 / p99 / last s |');
out('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  out(`| ${r.n} | ${f1(r.connectS)} | ${f1(r.idleCpuPct)} | ${f1(r.idleRssMiB)} | ${f1(r.p50)} | ${f1(r.p99)} | ${r.hubCpuMsPerReport.toFixed(2)} | ${r.appendMs.toFixed(3)} | ${f1(100 * r.restart.peakShare)} | ${f1(r.restart.p50 / 1000)} / ${f1(r.restart.p99 / 1000)} / ${f1(r.restart.max / 1000)} |`);
}
if (rows.length > 1) {
  const [a, b] = [rows[0]!, rows[rows.length - 1]!];
  out(`persist cost ${b.n} vs ${a.n} nodes: appendReports ×${(b.appendMs / a.appendMs).toFixed(2)}, hub CPU per report ×${(b.hubCpuMsPerReport / a.hubCpuMsPerReport).toFixed(2)}`);
}
for (const r of rows) if (r.rollout) out(`rollout at ${r.n}: ${r.rollout.status} in wave ${r.rollout.wave}; waves ${r.rollout.waves.map((w) => `${w.wave}:${w.size}${w.opened ? '' : '(closed)'}`).join(' ')}; nodes of later waves that got it: ${r.rollout.laterOffered}`);
