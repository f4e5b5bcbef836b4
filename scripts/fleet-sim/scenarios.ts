// What the fleet simulator and the fleet bench run: a hub process on a store, a simulated fleet
// preauthorised and connected, and the scenarios (reports and their acks, a hub kill + restart,
// a whole rollout with a bundle that fails on chosen nodes).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fleet, type FleetOptions } from './fleet.ts';
import { HubProcess } from './hub-process.ts';
import { makeBundle } from './bundle.ts';

export interface Rig {
  dir: string;
  store: string;
  bundles: string;
  hub: HubProcess;
  token: string;
  fleet: Fleet;
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Hub on a fresh store, the fleet opened, its keys preauthorised; nothing dialled yet. */
export async function setUp(o: { dir: string; nodes: number; workers: number; store?: string; hubArgs?: string[] } & Partial<FleetOptions>): Promise<Rig> {
  const bundles = join(o.dir, 'bundles');
  await mkdir(bundles, { recursive: true });
  const store = o.store ?? `sqlite:${join(o.dir, 'hub.db')}`;
  const hub = await HubProcess.start({ store, bundles, log: join(o.dir, 'hub.log'), args: o.hubArgs ?? [] });
  if (!hub.token) throw new Error('the hub printed no operator token (a store that was used before?)');
  const agentsDir = await agentsDirFor(o.dir);
  const fleet = await Fleet.start({ ...o, url: hub.agentUrl, nodes: o.nodes, workers: o.workers, dir: agentsDir });
  for (let i = 0; i < fleet.fingerprints.length; i += 2000) {
    await hub.api(hub.token, 'POST', '/admin/preauthorize', { fingerprints: fleet.fingerprints.slice(i, i + 2000) });
  }
  return { dir: o.dir, store, bundles, hub, token: hub.token, fleet };
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

export async function connectAll(r: Rig, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  r.fleet.run();
  await waitUntil('the whole fleet to authenticate', () => r.fleet.connected() >= r.fleet.n, timeoutMs);
  await waitUntil('every initial report acknowledged', async () => (await r.fleet.pending()) === 0, timeoutMs, 1000);
  return Date.now() - t0;
}

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

/** Kill -9 the hub, wait `downMs`, start it again on the same store and port; how the fleet came back. */
export async function killAndRestart(r: Rig, downMs: number, timeoutMs: number) {
  const killAt = Date.now();
  await r.hub.stop('SIGKILL');
  await sleep(downMs);
  const port = Number(new URL(r.hub.url).port);
  const apiPort = Number(new URL(r.hub.apiUrl).port);
  r.hub = await HubProcess.start({ store: r.store, bundles: r.bundles, log: join(r.dir, 'hub.log'), port, apiPort });
  const upAt = Date.now();
  await waitUntil('the whole fleet to re-authenticate', () => r.fleet.connected(killAt) >= r.fleet.n, timeoutMs, 500);
  const back = r.fleet.authAt.map((t) => t - upAt);
  const perSecond = new Map<number, number>();
  for (const t of back) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const peak = Math.max(...perSecond.values());
  return {
    downMs: upAt - killAt,
    p50: percentile(back, 0.5), p99: percentile(back, 0.99), max: Math.max(...back),
    peakPerSecond: peak, peakShare: peak / r.fleet.n,
    histogram: [...perSecond.entries()].sort((a, b) => a[0] - b[0]),
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
  await r?.hub.stop('SIGTERM').catch(() => {});
}
