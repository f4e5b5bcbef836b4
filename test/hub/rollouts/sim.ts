// An in-memory fleet for planner tests: members are assigned as the driver assigns them, the
// planner's decisions are applied the way the driver applies them, and nodes move through their
// deployment phases one step per round.
import { assignWaves } from '../../../hub/rollouts/membership.ts';
import { initialState, plan, type Plan } from '../../../hub/rollouts/planner.ts';
import type { DeploymentPhase, FleetNode, Member, MemberStatus, NodeDeployment, RolloutSpec, RolloutState } from '../../../hub/rollouts/types.ts';

export function node(i: number, o: Partial<FleetNode> = {}): FleetNode {
  return { id: `fp-${String(i).padStart(5, '0')}`, deviceId: `gw-${i}`, accepted: true, online: true, compatible: ['board-a'], floor: 1, running: { version: '1.0', release: 1 }, ...o };
}

export function spec(o: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    id: 'r-1', bundle: { bundleId: 'b-2.0', version: '2.0', release: 2, compatible: ['board-a'], manifestSha256: 'a'.repeat(64) },
    target: {}, waves: [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }], deadlineS: 600, minSuccessPercent: 0, threshold: { percent: 2 },
    ...o,
  };
}

export interface SimOptions {
  /** Nodes whose install fails (health check → rolled back). */
  failing?: ReadonlySet<string>;
  /** Nodes whose download window stays closed: they wait. */
  closed?: ReadonlySet<string>;
}

export class Sim {
  spec: RolloutSpec;
  state: RolloutState = initialState();
  fleet = new Map<string, FleetNode>();
  membership = new Map<string, { wave: number; status: MemberStatus; reason: string | null }>();
  deployments = new Map<string, NodeDeployment>();
  now = 1_000_000;
  last: Plan | null = null;
  /** Every node that ever got an offer, in order. */
  offered: string[] = [];
  events: string[] = [];
  o: SimOptions;

  constructor(s: RolloutSpec, fleet: FleetNode[], o: SimOptions = {}) {
    this.spec = s;
    for (const n of fleet) this.fleet.set(n.id, n);
    for (const a of assignWaves(s, fleet)) this.membership.set(a.nodeId, { wave: a.wave, status: a.status, reason: a.reason ?? null });
    this.o = o;
  }

  members(): Member[] {
    return [...this.membership].map(([id, m]) => ({ nodeId: id, ...m, node: this.fleet.get(id) ?? null, deployment: this.deployments.get(id) ?? null }));
  }

  /** One planner step, its decisions applied. */
  step(): Plan {
    const p = plan({ spec: this.spec, state: this.state }, this.members(), this.now);
    this.state = p.state;
    for (const id of p.offers) {
      this.deployments.set(id, { nodeId: id, phase: 'offered', offeredAt: this.now, startedAt: null });
      this.membership.get(id)!.status = 'offered';
      this.offered.push(id);
    }
    for (const id of p.cancels) this.deployments.get(id)!.cancelRequested = true;
    this.events.push(...p.events);
    this.last = p;
    return p;
  }

  /** Online nodes move one phase on (a cancel takes effect before a node starts). */
  advanceNodes(): void {
    this.now += 1000;
    for (const d of this.deployments.values()) {
      if (!this.fleet.get(d.nodeId)!.online) continue;
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

  /** Steps until nothing changes any more (or `max` rounds); returns the last plan. */
  run(max = 200): Plan {
    const sig = () => JSON.stringify([...this.deployments.values()]) + this.state.status + this.state.wave;
    let quiet = 0;
    for (let i = 0; i < max && quiet < 6; i++) {
      const before = sig();
      this.step();
      this.advanceNodes();
      quiet = before === sig() ? quiet + 1 : 0;
    }
    return this.step();
  }

  setOnline(id: string, online: boolean): void {
    this.fleet.set(id, { ...this.fleet.get(id)!, online });
  }
}
