// What the fleet simulator and the fleet bench run: one or several hub processes on a store, a
// simulated fleet preauthorised and connected, and the scenarios (reports and their acks, a hub
// kill + restart, a whole rollout with a bundle that fails on chosen nodes). Every wait has a
// deadline and says how far it got, so a load run on a busy machine ends with figures, not a hang.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fleet, type FleetOptions } from './fleet.ts';
import { HubProcess } from './hub-process.ts';
import { makeBundle } from './bundle.ts';

export interface Rig {
  dir: string;
  store: string;
  bundles: string;
  /** The first hub process (the one every API call goes to). */
  hub: HubProcess;
  /** Every hub process on the store (one on SQLite). */
  hubs: HubProcess[];
  hubArgs: string[];
  token: string;
  fleet: Fleet;
}

/** Progress lines while a long wait runs (every 10 s); the bench sets it to its output. */
export const progress = { out: null as ((line: string) => void) | null, everyMs: 10_000 };

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200, status?: () => string | Promise<string>): Promise<void> {
  const t0 = Date.now();
  const end = t0 + timeoutMs;
  let next = t0 + progress.everyMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${status ? ` (${await status()})` : ''}`);
    if (progress.out && Date.now() >= next) {
      next += progress.everyMs;
      progress.out(`    … ${Math.round((Date.now() - t0) / 1000)} s waiting for ${what}${status ? `: ${await status()}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Hub process(es) on a fresh store, the fleet opened, its keys preauthorised; nothing dialled yet. */
export async function setUp(o: { dir: string; nodes: number; workers: number; store?: string; hubs?: number; hubArgs?: string[] } & Partial<FleetOptions>): Promise<Rig> {
  const bundles = join(o.dir, 'bundles');
  await mkdir(bundles, { recursive: true });
  const store = o.store ?? `sqlite:${join(o.dir, 'hub.db')}`;
  const hubArgs = o.hubArgs ?? [];
  // One after the other: the first start makes the operator token (printed once).
  const hubs: HubProcess[] = [];
  for (let i = 0; i < (o.hubs ?? 1); i++) hubs.push(await HubProcess.start({ store, bundles, log: join(o.dir, `hub${i || ''}.log`), args: hubArgs }));
  const hub = hubs[0]!;
  if (!hub.token) throw new Error('the hub printed no operator token (a store that was used before?)');
  const agentsDir = await agentsDirFor(o.dir);
  const fleet = await Fleet.start({ ...o, url: hubs.map((h) => h.agentUrl), nodes: o.nodes, workers: o.workers, dir: agentsDir });
  for (let i = 0; i < fleet.fingerprints.length; i += 2000) {
    await hub.api(hub.token, 'POST', '/admin/preauthorize', { fingerprints: fleet.fingerprints.slice(i, i + 2000) });
  }
  return { dir: o.dir, store, bundles, hub, hubs, hubArgs, token: hub.token, fleet };
}

/** CPU seconds used by every hub process of the rig. */
export async function hubCpuSeconds(r: Rig): Promise<number> {
  return (await Promise.all(r.hubs.map((h) => h.cpuSeconds()))).reduce((a, b) => a + b, 0);
}

/** RSS of every hub process (MiB), in order. */
export async function hubRssMiB(r: Rig): Promise<number[]> {
  return Promise.all(r.hubs.map((h) => h.rssMiB()));
}

/** Agent state on a tmpfs when there is one: the simulator's own fsyncs stay out of the hub's figures. */
async function agentsDirFor(dir: string): Promise<string> {
  const shm = `/dev/shm/${dir.split('/').pop()}-agents`;
  try {
    await mkdir(shm, { recursive: true });
    return shm;
  } catch {
    return join(dir, 'agents');
  }
}

/** Starts the fleet (starts spread over `spreadMs`) and waits until every node is in and its first reports acknowledged. */
export async function connectAll(r: Rig, timeoutMs: number, spreadMs = 0): Promise<number> {
  const t0 = Date.now();
  r.fleet.run(spreadMs);
  await waitUntil('the whole fleet to authenticate', () => r.fleet.connected() >= r.fleet.n, timeoutMs, 200, () => `${r.fleet.connected()} of ${r.fleet.n}`);
  await waitUntil('every initial report acknowledged', async () => (await r.fleet.pending()) === 0, Math.max(60_000, timeoutMs - (Date.now() - t0)), 1000,
    async () => `${await r.fleet.pending()} reports not acknowledged`);
  return Date.now() - t0;
}

export interface BurstRun {
  reports: number;
  p50: number;
  p99: number;
  /** Hub CPU (all processes) per report, ms. */
  hubCpuMs: number;
  ms: number;
}

/** Every node sends one changed inventory within n / ratePerS seconds; report → ack latencies. */
export async function reportBurst(r: Rig, ratePerS: number, timeoutMs: number): Promise<BurstRun> {
  const f = r.fleet;
  f.latencies.length = 0;
  const spreadMs = (1000 * f.n) / ratePerS;
  const c0 = await hubCpuSeconds(r);
  const t0 = Date.now();
  f.refreshInventories(spreadMs);
  await sleep(spreadMs);
  await waitUntil('every changed inventory acknowledged', async () => f.latencies.length >= f.n && (await f.pending()) === 0, timeoutMs, 500,
    async () => `${f.latencies.length} of ${f.n} acked, ${await f.pending()} pending`);
  const hubCpuMs = (1000 * ((await hubCpuSeconds(r)) - c0)) / f.latencies.length;
  return { reports: f.latencies.length, p50: percentile(f.latencies, 0.5), p99: percentile(f.latencies, 0.99), hubCpuMs, ms: Date.now() - t0 };
}

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

export interface RestartRun {
  downMs: number;
  /** Nodes back (re-authenticated) before the deadline, of the fleet. */
  back: number;
  p50: number;
  p99: number;
  max: number;
  peakPerSecond: number;
  peakShare: number;
  histogram: Array<[number, number]>;
  /**
   * The same by when the hub sent each acceptance (what a node with its own CPU sees; the
   * figures above are when a worker process shared by thousands of nodes handled it).
   */
  hubSent: { peakPerSecond: number; peakShare: number; histogram: Array<[number, number]> };
  /** Per second, from the hub processes' logs (summed): handshakes admitted and authenticated. */
  admission: { peakAdmitted: number; peakAuthenticated: number; seconds: Array<[number, { admitted: number; refused: number; authenticated: number }]> };
}

/** Counts per whole second since `t0`. */
function perSecondOf(times: readonly number[], t0: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of times) m.set(Math.floor((t - t0) / 1000), (m.get(Math.floor((t - t0) / 1000)) ?? 0) + 1);
  return m;
}

/** The hubs' per-second admission log lines since `since`, summed over the processes, by second since `t0`. */
async function admissionSeconds(r: Rig, since: number, t0: number): Promise<RestartRun['admission']> {
  const sum = new Map<number, { admitted: number; refused: number; authenticated: number }>();
  for (let i = 0; i < r.hubs.length; i++) {
    const text = await readFile(join(r.dir, `hub${i || ''}.log`), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"msg":"admission"')) continue;
      const l = JSON.parse(line) as { at: string; admitted: number; refused: number; authenticated: number };
      const at = Date.parse(l.at);
      if (at < since) continue;
      const k = Math.floor((at - t0) / 1000);
      const e = sum.get(k) ?? { admitted: 0, refused: 0, authenticated: 0 };
      sum.set(k, { admitted: e.admitted + l.admitted, refused: e.refused + l.refused, authenticated: e.authenticated + l.authenticated });
    }
  }
  const seconds = [...sum.entries()].sort((a, b) => a[0] - b[0]);
  return {
    peakAdmitted: Math.max(0, ...seconds.map(([, c]) => c.admitted)), peakAuthenticated: Math.max(0, ...seconds.map(([, c]) => c.authenticated)), seconds,
  };
}

/**
 * Kill -9 every hub process, wait `downMs`, start them again on the same store and ports (with
 * `store` instead when given: another store option); how the fleet came back. At the deadline
 * it returns what came back so far (`back` < n) instead of failing.
 */
export async function killAndRestart(r: Rig, downMs: number, timeoutMs: number, store = r.store): Promise<RestartRun> {
  // An agent resets its redial backoff only after its link was up stableAfterMs; one killed
  // sooner (just connected) redials with the backoff its connect attempts built up, up to the
  // 300 s cap. A real fleet has been up far longer than that when its hub restarts.
  const stableAt = Math.max(...r.fleet.authAt) + r.fleet.stableAfterMs + 2000;
  if (Date.now() < stableAt) {
    progress.out?.(`    waiting ${Math.ceil((stableAt - Date.now()) / 1000)} s until every link is up ${r.fleet.stableAfterMs / 1000} s (the agents' stableAfterMs)`);
    await sleep(stableAt - Date.now());
  }
  const killAt = Date.now();
  await Promise.all(r.hubs.map((h) => h.stop('SIGKILL')));
  await sleep(downMs);
  // All at once; the spread is counted from when the first one listens again.
  let upAt = Infinity;
  const hubs = await Promise.all(r.hubs.map(async (h, i) => {
    const port = Number(new URL(h.url).port);
    const apiPort = Number(new URL(h.apiUrl).port);
    const p = await HubProcess.start({ store, bundles: r.bundles, log: join(r.dir, `hub${i || ''}.log`), port, apiPort, args: r.hubArgs });
    upAt = Math.min(upAt, Date.now());
    return p;
  }));
  r.hubs = hubs;
  r.hub = hubs[0]!;
  await waitUntil('the whole fleet to re-authenticate', () => r.fleet.connected(killAt) >= r.fleet.n, timeoutMs, 500,
    () => `${r.fleet.connected(killAt)} of ${r.fleet.n} back`).catch((err: Error) => progress.out?.(`    ${err.message}; measuring what came back`));
  await sleep(1500); // the hubs log a second's admission counts once it is over
  const back = r.fleet.authAt.filter((t) => t > killAt).map((t) => t - upAt);
  const perSecond = perSecondOf(back, 0);
  const peak = Math.max(0, ...perSecond.values());
  const sent = perSecondOf(r.fleet.hubAuthAt.filter((t) => t > killAt), upAt);
  const sentPeak = Math.max(0, ...sent.values());
  return {
    downMs: upAt - killAt, back: back.length,
    p50: percentile(back, 0.5), p99: percentile(back, 0.99), max: Math.max(...back),
    peakPerSecond: peak, peakShare: peak / r.fleet.n,
    histogram: [...perSecond.entries()].sort((a, b) => a[0] - b[0]),
    hubSent: { peakPerSecond: sentPeak, peakShare: sentPeak / r.fleet.n, histogram: [...sent.entries()].sort((a, b) => a[0] - b[0]) },
    admission: await admissionSeconds(r, killAt, upAt),
  };
}

export interface RolloutRun {
  id: string;
  status: string;
  reason: string | null;
  /** 1-based wave it stopped in (or the last). */
  wave: number;
  waves: Array<{ wave: number; size: number; opened: boolean; counts: Record<string, number> }>;
  /** Nodes of waves after the one it stopped in that received the offer (must be 0). */
  laterOffered: number;
  offeredNodes: number;
  ms: number;
}

/** Creates a rollout of a fresh bundle and follows it until it completes or pauses. */
export async function runRollout(r: Rig, o: { id: string; version: string; release: number; waves: string[]; maxFailurePercent?: number; maxFailures?: number; timeoutMs: number }): Promise<RolloutRun> {
  const name = await makeBundle(join(r.dir, 'bundle-work'), { version: o.version, release: o.release, compatible: 'sim-board', bundlesDir: r.bundles });
  await r.hub.api(r.token, 'POST', '/admin/bundles', { name }).catch(() => {}); // registered on demand otherwise
  const t0 = Date.now();
  await r.hub.api(r.token, 'POST', '/admin/rollouts', {
    id: o.id, bundle: name, waves: o.waves, deadlineS: 600,
    ...(o.maxFailurePercent !== undefined ? { maxFailurePercent: o.maxFailurePercent } : {}), ...(o.maxFailures !== undefined ? { maxFailures: o.maxFailures } : {}),
  });
  type View = { status: string; reason: string | null; wave: number; progress: RolloutRun['waves'] };
  let v: View | null = null;
  await waitUntil(`rollout ${o.id} to complete or pause`, async () => {
    v = await r.hub.api<View>(r.token, 'GET', `/admin/rollouts/${o.id}`);
    return v.status !== 'running';
  }, o.timeoutMs, 500);
  const view = v as unknown as View;
  // Settle: offers already out finish (they are not taken back by a pause).
  await sleep(2000);
  const final = await r.hub.api<View>(r.token, 'GET', `/admin/rollouts/${o.id}`);
  const later = final.progress.filter((w) => w.wave > view.wave);
  const laterOffered = later.reduce((a, w) => a + Object.entries(w.counts).filter(([k]) => !['queued', 'skipped'].includes(k)).reduce((b, [, n]) => b + n, 0), 0);
  const offeredNodes = [...r.fleet.offers.values()].filter((ds) => ds.includes(o.id)).length;
  return { id: o.id, status: view.status, reason: view.reason, wave: view.wave, waves: final.progress, laterOffered, offeredNodes, ms: Date.now() - t0 };
}

export async function tearDown(r: Rig | null): Promise<void> {
  await r?.fleet.stop().catch(() => {});
  await Promise.all((r?.hubs ?? []).map((h) => h.stop('SIGTERM').catch(() => {})));
}
