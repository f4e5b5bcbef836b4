// Dashboard at fleet scale: a hub (in this process, SQLite) holding N simulated nodes, Debian's
// Chromium signing in. Reports: time from navigation to the first rendered fleet page, the same
// for the map (opened after the fleet page, and cold), and the page's JS heap and DOM size before, during (highest) and after `--seconds`
// of the fleet reporting (each report wakes the live feed, as the agent link does). DOM sizes are
// Memory.getDOMCounters after a forced GC: Performance.getMetrics' "Nodes" also counts nodes
// replaced but not swept yet, which reads as growth that is not there. The machine's 1-minute load
// average is printed beside each figure (shared machines: compare runs made under similar load).
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
let started = Date.now();
const fleet = await addFleet(t.hub.store, N, { hubId: t.hub.ctx.hubId, movedEvery: 50 });
console.log(`fleet of ${N} nodes stored in ${((Date.now() - started) / 1000).toFixed(1)} s (${load()})`);

const browser = await launch();
const first: number[] = [];
const mapTimes: number[] = [];
const coldMap: number[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${t.hub.apiUrl}/`);
    await page.getByLabel('Operator token').fill(token);
    // The hub shares a fleet read for a second (hub/dashboard/snapshot.ts): wait it out so each
    // figure is a cold one, paying the full read of N nodes.
    await new Promise((res) => setTimeout(res, 1500));
    started = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.nodes caption', { hasText: `Nodes (${N})` }).waitFor({ timeout: 120_000 });
    first.push(Date.now() - started);
    console.log(`run ${run + 1}: fleet page ${first.at(-1)} ms (${load()})`);
    await new Promise((res) => setTimeout(res, 1500));
    started = Date.now();
    await page.getByRole('link', { name: 'Map' }).click();
    await page.getByText(`of ${N} nodes have a location`).waitFor({ timeout: 120_000 });
    mapTimes.push(Date.now() - started);
    console.log(`run ${run + 1}: map after the fleet page ${mapTimes.at(-1)} ms (${load()})`);
    // The map may reuse a fleet read up to 10 s old: measure it once more with none that recent
    // (the rollouts view reads no node list).
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await new Promise((res) => setTimeout(res, 10_500));
    started = Date.now();
    await page.getByRole('link', { name: 'Map' }).click();
    await page.getByText(`of ${N} nodes have a location`).waitFor({ timeout: 120_000 });
    coldMap.push(Date.now() - started);
    console.log(`run ${run + 1}: map, cold ${coldMap.at(-1)} ms (${load()})`);
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
  console.log(`first render of the fleet page at ${N} nodes (sign-in click → table): median ${median(first)} ms (runs: ${first.join(', ')})`);
  console.log(`map with ${N} nodes after the fleet page: median ${median(mapTimes)} ms (runs: ${mapTimes.join(', ')})`);
  console.log(`map with ${N} nodes, cold: median ${median(coldMap)} ms (runs: ${coldMap.join(', ')})`);
} finally {
  await browser.close();
  await t.close();
  await rm(dir, { recursive: true, force: true });
}
