// Dashboard at fleet scale: a hub (in this process, SQLite) holding N simulated nodes, Debian's
// Chromium signing in. Reports: time from sign-in to the first rendered fleet page, the same for
// the map (opened after the fleet page, and cold), and the page's JS heap and DOM size before,
// during (highest) and after `--seconds` of the fleet reporting (each report wakes the live feed,
// as the agent link does). DOM sizes are
// Memory.getDOMCounters after a forced GC: Performance.getMetrics' "Nodes" also counts nodes
// replaced but not swept yet, which reads as growth that is not there. The machine's 1-minute load
// average is printed beside each figure, and the CPU each figure cost beside its wall time: the
// page's main-thread task time and this process's CPU (the hub; the bench's own driving is small),
// which a loaded machine stretches far less than the wall clock.
//   node scripts/bench-dashboard.ts [--nodes 10000] [--seconds 60] [--runs 3]
import { parseArgs } from 'node:util';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { startTestHub } from '../test/support/hub-in-process.ts';
import { addFleet, report } from '../test/hub/dashboard/fleet.ts';
import { launch } from '../test/hub/dashboard/browser.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '60' }, runs: { type: 'string', default: '3' } } });
const N = Number(values.nodes);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const mib = (b: number) => (b / 1048576).toFixed(1);
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

const dir = await mkdtemp(join(tmpdir(), 'bench-dash-'));
await mkdir(join(dir, 'bundles'));
// The fleet is written once before timing starts: no fsync per row (a bench, not a hub).
const t = await startTestHub(dir, { dashboard: { tiles: null }, storeFile: `${join(dir, 'hub.db')}?synchronous=normal` });
const token = (await t.hub.store.createToken('bench', Date.now())).token;
const started = Date.now();
const fleet = await addFleet(t.hub.store, N, { hubId: t.hub.ctx.hubId, movedEvery: 50 });
console.log(`fleet of ${N} nodes stored in ${((Date.now() - started) / 1000).toFixed(1)} s (${load()})`);

const browser = await launch();
/** Per figure: wall ms, the page's main-thread task ms, and this process's (hub) CPU ms. */
const figures = new Map<string, Array<{ wall: number; page: number; hub: number }>>();
const line = (f: { wall: number; page: number; hub: number }) => `${f.wall} ms (page tasks ${f.page} ms, hub process CPU ${f.hub} ms)`;
try {
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const perf = await page.context().newCDPSession(page);
    await perf.send('Performance.enable');
    const taskMs = async () => 1000 * ((await perf.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0);
    /** Times `act` until `done`: wall clock, and CPU (which a loaded machine does not stretch). */
    const timed = async (name: string, act: () => Promise<void>, done: () => Promise<void>) => {
      const page0 = await taskMs();
      const cpu0 = process.cpuUsage();
      const wall0 = Date.now();
      await act();
      await done();
      const wall = Date.now() - wall0;
      const cpu = process.cpuUsage(cpu0);
      const f = { wall, page: Math.round((await taskMs()) - page0), hub: Math.round((cpu.user + cpu.system) / 1000) };
      figures.set(name, [...(figures.get(name) ?? []), f]);
      console.log(`run ${run + 1}: ${name} ${line(f)} (${load()})`);
    };
    await page.goto(`${t.hub.apiUrl}/`);
    await page.getByLabel('Operator token').fill(token);
    // The hub shares a fleet read for a second (hub/dashboard/snapshot.ts): wait it out so each
    // figure is a cold one, paying the full read of N nodes.
    await new Promise((res) => setTimeout(res, 1500));
    await timed('fleet page (sign-in click → table)', () => page.getByRole('button', { name: 'Sign in' }).click(),
      () => page.locator('table.nodes caption', { hasText: `Nodes (${N})` }).waitFor({ timeout: 120_000 }));
    await new Promise((res) => setTimeout(res, 1500));
    const mapShown = () => page.getByText(`of ${N} nodes have a location`).waitFor({ timeout: 120_000 });
    await timed('map after the fleet page', () => page.getByRole('link', { name: 'Map' }).click(), mapShown);
    // The map may reuse a fleet read up to 10 s old: measure it once more with none that recent
    // (the rollouts view reads no node list).
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await new Promise((res) => setTimeout(res, 10_500));
    await timed('map, cold', () => page.getByRole('link', { name: 'Map' }).click(), mapShown);
    await page.getByRole('link', { name: 'Fleet' }).click();
    if (run < RUNS - 1) await page.close();
    else {
      // The last page stays on the fleet view while the fleet reports.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const metrics = async () => {
        await cdp.send('HeapProfiler.collectGarbage');
        const perf = Object.fromEntries(((await cdp.send('Performance.getMetrics')).metrics).map((m) => [m.name, m.value]));
        const dom = (await cdp.send('Memory.getDOMCounters')) as { nodes: number; jsEventListeners: number };
        return { heap: perf.JSHeapUsedSize!, nodes: dom.nodes, listeners: dom.jsEventListeners };
      };
      await page.locator('table.nodes caption', { hasText: `Nodes (${N})` }).waitFor({ timeout: 120_000 });
      const before = await metrics();
      const peak = { ...before };
      let nextSample = Date.now() + 10_000;
      let reports = 0;
      const end = Date.now() + SECONDS * 1000;
      while (Date.now() < end) {
        const n = fleet[Math.floor(Math.random() * fleet.length)]!;
        const r = await t.hub.store.appendReports(n.id, [report(n, { type: 'inventory', at: Date.now(), mode: 'diff', set: { 'load.avg1': Math.random() }, unset: [] })], Date.now());
        for (const f of t.hub.ctx.hooks.reportsApplied) f(n.id, r);
        reports++;
        if (reports % 50 === 0) await new Promise((res) => setTimeout(res, 10));
        if (Date.now() >= nextSample) {
          const m = await metrics();
          for (const k of ['heap', 'nodes', 'listeners'] as const) peak[k] = Math.max(peak[k], m[k]);
          nextSample = Date.now() + 10_000;
        }
      }
      const after = await metrics();
      console.log(`while the fleet sent ${reports} reports in ${SECONDS} s (${(reports / SECONDS).toFixed(0)}/s):`);
      console.log(`  page JS heap used ${mib(before.heap)} → ${mib(after.heap)} MiB (highest sampled ${mib(peak.heap)}); DOM nodes ${before.nodes} → ${after.nodes} (highest ${peak.nodes}); event listeners ${before.listeners} → ${after.listeners} (highest ${peak.listeners}) (${load()})`);
    }
  }
  for (const [name, fs] of figures) {
    const m = (k: 'wall' | 'page' | 'hub') => median(fs.map((f) => f[k]));
    console.log(`${name} at ${N} nodes, median of ${fs.length}: ${line({ wall: m('wall'), page: m('page'), hub: m('hub') })}; runs: ${fs.map((f) => f.wall).join(', ')} ms`);
  }
} finally {
  await browser.close();
  await t.close();
  await rm(dir, { recursive: true, force: true });
}
