// Cost of one inventory collection on this machine: wall time and CPU (this process, and its
// child processes that systeminformation spawns), medians of several runs, against one
// `uname -a` run the same way in the same session as the reference. Also the longest stall of
// the event loop (the daemon answers neither its hub nor writes slots meanwhile): during a
// collection, and per probe beside the systeminformation call the probe replaced.
//
//   node scripts/bench-inventory.ts [runs=10]
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import si from 'systeminformation';
import { InventoryCollector } from '../agent/inventory/collector.ts';
import { SYSTEM_PROBES } from '../agent/inventory/system-probes.ts';
import { processRunner } from '../agent/platform/exec.ts';

const runs = Number(process.argv[2] ?? 10);
const TICK_MS = 10; // USER_HZ = 100 on Linux: /proc times are in 1/100 s

/** CPU ms used by waited-for children (cutime + cstime from /proc/self/stat). */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

interface Sample {
  wallMs: number;
  selfCpuMs: number;
  childCpuMs: number;
  /** Longest event-loop stall seen while the work ran. */
  maxLoopDelayMs: number;
}

async function measure(work: () => Promise<unknown>): Promise<Sample> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  // It measures between two of its timer's ticks: a stall before its first tick would go unseen.
  await sleep(5);
  const c0 = process.cpuUsage();
  const k0 = childCpuMs();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const k = childCpuMs() - k0;
  // The monitor's timer records a stall when it next fires: let it fire after the last one.
  await sleep(20);
  loop.disable();
  return { wallMs, selfCpuMs: (c.user + c.system) / 1000, childCpuMs: k, maxLoopDelayMs: loop.max / 1e6 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// One collector for all runs, as in the agent: boot-static facts (firmware, board, CPU) are
// collected once, so the cold run shows the first-report cost and the others the scheduled one.
const collector = new InventoryCollector({ callTimeoutMs: 10_000, scriptsDir: null, scriptTimeoutMs: 5_000, runner: processRunner });
const uname = () => processRunner.run('uname', ['-a']);

const cold = await measure(() => collector.collect());
await measure(uname);
const inv: Sample[] = [];
const ref: Sample[] = [];
for (let i = 0; i < runs; i++) {
  inv.push(await measure(() => collector.collect()));
  ref.push(await measure(uname));
}

const row = (name: string, xs: Sample[]) => {
  const w = median(xs.map((x) => x.wallMs));
  const s = median(xs.map((x) => x.selfCpuMs));
  // Child CPU comes in 10 ms ticks: a mean over all runs resolves more than a median.
  const k = xs.reduce((t, x) => t + x.childCpuMs, 0) / xs.length;
  const d = median(xs.map((x) => x.maxLoopDelayMs));
  process.stdout.write(`${name.padEnd(22)} wall ${w.toFixed(1).padStart(7)} ms   cpu self ${s.toFixed(1).padStart(6)} ms   children ${k.toFixed(1).padStart(6)} ms (mean)   loop stall ${d.toFixed(1).padStart(6)} ms\n`);
  return { w, cpu: s + k };
};
process.stdout.write(`inventory collection cost, medians of ${runs} runs (node ${process.versions.node}, ${process.arch})\n`);
process.stdout.write(`first (cold) collection  wall ${cold.wallMs.toFixed(1)} ms, cpu self ${cold.selfCpuMs.toFixed(1)} ms, children ${cold.childCpuMs} ms, loop stall ${cold.maxLoopDelayMs.toFixed(1)} ms\n`);
const a = row('collection', inv);
const b = row('uname -a (reference)', ref);
process.stdout.write(`ratio collection / uname -a: wall ${(a.w / b.w).toFixed(1)}x, cpu ${(a.cpu / b.cpu).toFixed(1)}x\n`);

// Per probe, alone: the longest event-loop stall (median of the runs' maxima) and wall time, for
// each of the agent's probes and, beside the ones that replaced a systeminformation call, for
// that call, alternating; each call fresh (boot-static caching is the collector's, not the probe's).
const replaced: Record<string, [string, () => Promise<unknown>]> = {
  system: ['si.system()', () => si.system()],
  bios: ['si.bios()', () => si.bios()],
  baseboard: ['si.baseboard()', () => si.baseboard()],
  os: ['si.osInfo()', () => si.osInfo()],
  network: ['si.networkInterfaces()', () => si.networkInterfaces()],
};
const cell = (xs: Sample[]) =>
  `stall ${median(xs.map((x) => x.maxLoopDelayMs)).toFixed(1).padStart(6)} ms  wall ${median(xs.map((x) => x.wallMs)).toFixed(1).padStart(6)} ms`;
process.stdout.write(`\nper probe, medians of ${runs} runs: longest event-loop stall, wall\n`);
for (const probe of SYSTEM_PROBES) {
  const theirs = replaced[probe.name];
  const ours: Sample[] = [];
  const old: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await measure(() => probe.run()));
    if (theirs) old.push(await measure(theirs[1]));
  }
  process.stdout.write(`${probe.name.padEnd(13)} ${cell(ours)}${theirs ? `   |  ${theirs[0].padEnd(23)} ${cell(old)}` : ''}\n`);
}
