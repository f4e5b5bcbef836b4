// Fleet simulation: N nodes running the REAL agent link code (HubClient: link, session, outbox
// on disk) in several worker processes, against `outpost-hub serve` in its own process on a
// SQLite store. Scenarios:
//   restart  kill -9 the hub, restart it; how the fleet's reconnects spread out (admission control)
//   rollout  a rollout in waves of a bundle that fails on a chosen share of the nodes: it must
//            stop in the first wave where the failures pass the threshold
//
//   node scripts/fleet-sim.ts [--agents 1000] [--workers 4] [--scenario restart|rollout|both]
//        [--down-ms 2000] [--fail-percent 3] [--waves 1%,10%,50%,100%] [--threshold-percent 2]
//
// Needs about 2 file descriptors per node in the workers: raise `ulimit -n` first for 10,000.
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAll, killAndRestart, runRollout, setUp, tearDown, type Rig } from './fleet-sim/scenarios.ts';
import { chooseFailing } from './fleet-sim/choose.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' }, workers: { type: 'string', default: '4' },
    scenario: { type: 'string', default: 'both' }, 'down-ms': { type: 'string', default: '2000' },
    'fail-percent': { type: 'string', default: '3' }, waves: { type: 'string', default: '1%,10%,50%,100%' },
    'threshold-percent': { type: 'string', default: '2' }, keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.agents);
const out = (s: string) => process.stdout.write(s + '\n');
const dir = await mkdtemp(join(tmpdir(), 'fleet-sim-'));
let rig: Rig | null = null;
let code = 0;
try {
  const failing = chooseFailing(N, Number(values['fail-percent']), 'fleet-sim');
  rig = await setUp({ dir, nodes: N, workers: Number(values.workers), failing, stepMs: 300 });
  out(`fleet of ${N} in ${values.workers} worker processes connected in ${await connectAll(rig, 600_000)} ms (hub ${rig.hub.url}, log ${join(dir, 'hub.log')})`);
  if (values.scenario !== 'rollout') {
    const r = await killAndRestart(rig, Number(values['down-ms']), 900_000);
    out(`hub killed and restarted (down ${r.downMs} ms): reconnects p50 ${r.p50} ms, p99 ${r.p99} ms, last ${r.max} ms after the restart`);
    out(`peak: ${r.peakPerSecond} nodes (${(100 * r.peakShare).toFixed(1)}% of the fleet) in one second`);
    out(`per second: ${r.histogram.map(([s, n]) => `${s}s:${n}`).join(' ')}`);
  }
  if (values.scenario !== 'restart') {
    const waves = values.waves.split(',');
    const r = await runRollout(rig, { id: 'sim-rollout', version: '2.0', release: 2, waves, maxFailurePercent: Number(values['threshold-percent']), timeoutMs: 900_000 });
    out(`rollout of a bundle failing on ${failing.size} of ${N} nodes (${values['fail-percent']}%), waves ${waves.join(' → ')}, pause above ${values['threshold-percent']}%:`);
    out(`  ${r.status} in wave ${r.wave} after ${(r.ms / 1000).toFixed(1)} s; ${r.offeredNodes} nodes got the offer; nodes of later waves that got it: ${r.laterOffered}`);
    for (const w of r.waves) out(`  wave ${w.wave}: ${w.size} nodes${w.opened ? '' : ' (not opened)'} ${JSON.stringify(w.counts)}`);
    if (r.reason) out(`  why: ${r.reason}`);
    if (r.laterOffered) code = 1;
  }
} catch (err) {
  process.stderr.write(`fleet-sim failed: ${(err as Error).stack}\n(kept ${dir})\n`);
  code = 1;
} finally {
  await tearDown(rig);
  if (code === 0 && !values.keep) await rm(dir, { recursive: true, force: true });
  await rm(`/dev/shm/${dir.split('/').pop()}-agents`, { recursive: true, force: true });
}
process.exit(code);
