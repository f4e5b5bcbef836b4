// An in-memory fleet for planner tests: the planner's decisions are applied the way the driver
// applies them, and nodes move through their deployment phases one step per round.
import { initialState, plan, type Plan } from '../../../hub/rollouts/planner.ts';
import type { DeploymentPhase, FleetNode, NodeDeployment, RolloutRecord, RolloutSpec } from '../../../hub/rollouts/types.ts';

export function node(i: number, o: Partial<FleetNode> = {}): FleetNode {
  return {
    id: `fp-${String(i).padStart(5, '0')}`, deviceId: `gw-${i}`, accepted: true, online: true, groups: ['edge'], labels: {},
    compatible: ['board-a'], site: `S${i % 7}`, region: i % 2 ? 'eu' : 'us', floor: 1, running: { version: '1.0', release: 1 }, ...o,
  };
}

export function spec(o: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    id: 'r-1', bundle: { name: 'b.bundle', version: '2.0', release: 2, compatible: ['board-a'], manifestSha256: 'a'.repeat(64), size: 100 },
    target: {}, waves: [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }], deadlineS: 600, threshold: { percent: 2 },
    createdAt: 0, ...o,
  };
}

export interface SimOptions {
  /** Nodes whose install fails (health check → rolled back). */
  failing?: ReadonlySet<string>;
  /** Nodes whose download window stays closed: they wait. */
  closed?: ReadonlySet<string>;
}

export class Sim {
  rec: Pick<RolloutRecord, 'spec' | 'state'>;
  fleet: FleetNode[];
  deployments = new Map<string, NodeDeployment>();
  now = 1_000_000;
  last: Plan | null = null;
  /** Every node that ever got an offer, in order. */
  offered: string[] = [];
  events: string[] = [];
  o: SimOptions;

  constructor(s: RolloutSpec, fleet: FleetNode[], o: SimOptions = {}) {
    this.rec = { spec: s, state: initialState(this.now) };
    this.fleet = fleet;
    this.o = o;
  }

  /** One planner step, its decisions applied. */
  step(): Plan {
    const p = plan(this.rec, this.fleet, this.deployments, this.now);
    this.rec = { ...this.rec, state: p.state };
    for (const n of p.offers) {
      this.deployments.set(n.id, { nodeId: n.id, phase: 'offered', offeredAt: this.now, startedAt: null });
      this.offered.push(n.id);
    }
    for (const id of p.cancels) this.deployments.set(id, { ...this.deployments.get(id)!, cancelRequested: true });
    this.events.push(...p.events);
    this.last = p;
    return p;
  }

  /** Online nodes move one phase on (cancel requests take effect before a node starts). */
  advanceNodes(): void {
    this.now += 1000;
    for (const d of this.deployments.values()) {
      const n = this.fleet.find((x) => x.id === d.nodeId)!;
      if (!n.online) continue;
      if (d.cancelRequested && (d.phase === 'offered' || d.phase === 'waiting')) {
        d.phase = 'cancelled';
        continue;
      }
      const next: Partial<Record<DeploymentPhase, DeploymentPhase>> = {
        offered: 'waiting', waiting: this.o.closed?.has(d.nodeId) ? 'waiting' : 'downloading', downloading: 'installed',
        installed: this.o.failing?.has(d.nodeId) ? 'rolled-back' : 'committed',
      };
      const to = next[d.phase];
      if (!to) continue;
      if (to === 'downloading') d.startedAt = this.now;
      if (to === 'rolled-back') d.code = 'E_HEALTH_CHECK';
      d.phase = to;
    }
  }

  /** Steps until nothing changes any more (or `max` rounds). */
  run(max = 200): Plan {
    let quiet = 0;
    for (let i = 0; i < max && quiet < 6; i++) {
      const before = JSON.stringify([...this.deployments.values()]) + this.rec.state.status + this.rec.state.wave;
      this.step();
      this.advanceNodes();
      const after = JSON.stringify([...this.deployments.values()]) + this.rec.state.status + this.rec.state.wave;
      quiet = before === after ? quiet + 1 : 0;
    }
    return this.step();
  }

  setOnline(id: string, online: boolean): void {
    this.fleet = this.fleet.map((n) => (n.id === id ? { ...n, online } : n));
  }
}
