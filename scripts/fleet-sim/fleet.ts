// The fleet simulator's parent side: N nodes spread over W worker processes (worker.ts), their
// events gathered here: when each node authenticated, report → ack latencies, offers received and
// deployment outcomes.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { HubTimings } from '../../agent/hub/client.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

const WORKER = resolve(import.meta.dirname, 'worker.ts');

/** Agent defaults (agent/config/sections/hub.ts): the fleet behaves as a real one would. */
export const PRODUCTION_TIMINGS: HubTimings = {
  pingIntervalMs: 60_000, authTimeoutMs: 15_000, backoffBaseMs: 1_000, backoffCapMs: 300_000, stableAfterMs: 60_000,
  inventoryIntervalS: 0, locationIntervalS: 86_400, healthDeadlineMs: 5_000, outboxMaxBytes: 4 << 20, outboxMaxCount: 20_000,
};

/** About 150 facts, like a real node's flattened inventory. */
export function sampleInventory(): Record<string, string | number> {
  const inv: Record<string, string | number> = { 'os.distro': 'Debian GNU/Linux', 'os.release': '12', 'cpu.cores': 4, 'agent.version': '0.1.0' };
  for (let i = 0; i < 40; i++) Object.assign(inv, { [`net.if${i}.mac`]: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, [`net.if${i}.mtu`]: 1500, [`disk.d${i}.size`]: 1 << 30 });
  return inv;
}

export interface FleetOptions {
  /** Agent endpoint; several (hub processes on one store): worker w dials url[w % length]. */
  url: string | string[];
  nodes: number;
  workers: number;
  dir: string;
  failing?: ReadonlySet<number>;
  /** The failing nodes fail only on this version (default: any). */
  failVersion?: string;
  stepMs?: number;
  compatible?: string;
  running?: { version: string; release: number };
  timings?: Partial<HubTimings>;
}

export class Fleet {
  readonly n: number;
  /** The agents' stableAfterMs: a link up this long resets their redial backoff. */
  stableAfterMs = PRODUCTION_TIMINGS.stableAfterMs;
  readonly fingerprints: string[] = [];
  /** Last authentication time per node (0: never). */
  readonly authAt: number[];
  /** Every authentication, in arrival order. */
  readonly auths: Array<[number, number]> = [];
  /** Last time the hub sent a node its acceptance (hub clock = this machine's; 0: never). */
  readonly hubAuthAt: number[];
  readonly latencies: number[] = [];
  readonly offers = new Map<number, string[]>();
  readonly outcomes = new Map<number, Array<[string, string]>>();
  #workers: ChildProcess[] = [];
  #stats: Array<(m: Extract<FromWorker, { type: 'stats' }>) => void> = [];

  private constructor(n: number) {
    this.n = n;
    this.authAt = new Array<number>(n).fill(0);
    this.hubAuthAt = new Array<number>(n).fill(0);
  }

  /** Forks the workers and opens every node (identities, outboxes); nothing dials yet. */
  static async start(o: FleetOptions): Promise<Fleet> {
    const f = new Fleet(o.nodes);
    f.stableAfterMs = o.timings?.stableAfterMs ?? PRODUCTION_TIMINGS.stableAfterMs;
    const per = Math.ceil(o.nodes / o.workers);
    const ready: Array<Promise<void>> = [];
    for (let w = 0, first = 0; first < o.nodes; w++, first += per) {
      const count = Math.min(per, o.nodes - first);
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      f.#workers.push(child);
      ready.push(new Promise<void>((done, fail) => {
        child.once('exit', (code) => fail(new Error(`fleet worker ${w} exited with ${code}`)));
        child.on('message', (m: FromWorker) => {
          if (m.type === 'ready') {
            m.fingerprints.forEach((fp, i) => (f.fingerprints[first + i] = fp));
            done();
          } else f.#take(m);
        });
      }));
      const init: WorkerInit = {
        url: typeof o.url === 'string' ? o.url : o.url[w % o.url.length]!, first, count, dir: o.dir, failing: [...(o.failing ?? [])].filter((g) => g >= first && g < first + count), failVersion: o.failVersion ?? null,
        stepMs: o.stepMs ?? 500, compatible: o.compatible ?? 'sim-board', running: o.running ?? { version: '1.0', release: 1 },
        inventory: sampleInventory(), timings: { ...PRODUCTION_TIMINGS, ...o.timings },
      };
      child.send({ type: 'init', init } satisfies ToWorker);
    }
    await Promise.all(ready);
    return f;
  }

  #take(m: FromWorker): void {
    if (m.type === 'stats') return void this.#stats.shift()?.(m);
    if (m.type !== 'events') return;
    for (const [g, at] of m.auths) {
      this.authAt[g] = at;
      this.auths.push([g, at]);
    }
    for (const [g, at] of m.hubAuths) this.hubAuthAt[g] = at;
    this.latencies.push(...m.lat);
    for (const [g, d] of m.offers) this.offers.set(g, [...(this.offers.get(g) ?? []), d]);
    for (const [g, d, r] of m.outcomes) this.outcomes.set(g, [...(this.outcomes.get(g) ?? []), [d, r]]);
  }

  #all(m: ToWorker): void {
    for (const w of this.#workers) w.send(m);
  }

  /**
   * Every node starts its link; the starts are spread evenly over `spreadMs` (0: all at once —
   * the first attempt has no jitter, so that is a fleet-wide power-on storm).
   */
  run(spreadMs = 0): void {
    this.#all({ type: 'run', spreadMs });
  }

  /** Every node sends one changed inventory within `spreadMs`. */
  refreshInventories(spreadMs: number): void {
    this.#all({ type: 'refresh', spreadMs });
  }

  async #statsOfAll(): Promise<Array<Extract<FromWorker, { type: 'stats' }>>> {
    const replies = this.#workers.map(() => new Promise<Extract<FromWorker, { type: 'stats' }>>((r) => this.#stats.push(r)));
    this.#all({ type: 'stats' });
    return Promise.all(replies);
  }

  /** Reports journaled and not acknowledged yet, over the whole fleet. */
  async pending(): Promise<number> {
    return (await this.#statsOfAll()).reduce((a, s) => a + s.pending, 0);
  }

  /** Why links went down since the start: count and longest chosen wait per cause. */
  async redials(): Promise<Map<string, { count: number; maxDelayMs: number }>> {
    const all = new Map<string, { count: number; maxDelayMs: number }>();
    for (const s of await this.#statsOfAll()) {
      for (const [why, count, maxDelayMs] of s.redials) {
        const r = all.get(why) ?? { count: 0, maxDelayMs: 0 };
        all.set(why, { count: r.count + count, maxDelayMs: Math.max(r.maxDelayMs, maxDelayMs) });
      }
    }
    return all;
  }

  connected(since = 0): number {
    return this.authAt.filter((t) => t > since).length;
  }

  async stop(): Promise<void> {
    const gone = this.#workers.filter((w) => w.exitCode === null).map((w) => once(w, 'exit'));
    this.#all({ type: 'stop' });
    const timer = setTimeout(() => this.#workers.forEach((w) => w.kill('SIGKILL')), 10_000);
    await Promise.all(gone);
    clearTimeout(timer);
  }
}
