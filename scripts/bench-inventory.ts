// Cost of one inventory collection on this machine: wall time and CPU (this process, and its
// child processes that systeminformation spawns), medians of several runs, against one
// `uname -a` run the same way in the same session as the reference.
//
//   node scripts/bench-inventory.ts [runs=10]
import { readFileSync } from 'node:fs';
import { InventoryCollector } from '../agent/inventory/collector.ts';
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
}

async function measure(work: () => Promise<unknown>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const k0 = childCpuMs();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, selfCpuMs: (c.user + c.system) / 1000, childCpuMs: childCpuMs() - k0 };
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
  process.stdout.write(`${name.padEnd(22)} wall ${w.toFixed(1).padStart(7)} ms   cpu self ${s.toFixed(1).padStart(6)} ms   children ${k.toFixed(1).padStart(6)} ms (mean)\n`);
  return { w, cpu: s + k };
};
process.stdout.write(`inventory collection cost, medians of ${runs} runs (node ${process.versions.node}, ${process.arch})\n`);
process.stdout.write(`first (cold) collection  wall ${cold.wallMs.toFixed(1)} ms, cpu self ${cold.selfCpuMs.toFixed(1)} ms, children ${cold.childCpuMs} ms\n`);
const a = row('collection', inv);
const b = row('uname -a (reference)', ref);
process.stdout.write(`ratio collection / uname -a: wall ${(a.w / b.w).toFixed(1)}x, cpu ${(a.cpu / b.cpu).toFixed(1)}x\n`);
