// The rollout driver: reads a rollout and its members from the store, runs the planner, writes
// its decisions back. Woken by nudges (a deployment of the rollout changed, an operator acted)
// and by a periodic tick (nodes that come back online, deadlines). Every hub process may run
// one: a decision is written with the rollout row's optimistic version first, so of two processes
// that read the same state only one advances it; the other re-reads. Offers go through the
// store's command queue, which refuses a member that is not `planned` any more. Nothing lives in
// memory that a restart would lose: a restarted hub resumes every rollout where the store has it.
import type { Logger } from '../../agent/log/logger.ts';
import type { Cancel, Offer } from '../../shared/protocol/index.ts';
import { isOutpostError } from '../../shared/errors.ts';
import type { DeploymentRow, HubStore, NodeRow, RolloutRow } from '../store/types.ts';
import { plan, type Plan } from './planner.ts';
import { deploymentOf, fleetNodeOf, patchOf, specOf, stateOf } from './rows.ts';
import type { Member } from './types.ts';

export type DriverStore = Pick<
  HubStore,
  | 'getRollout' | 'listRollouts' | 'updateRollout' | 'listRolloutMembers' | 'listNodes' | 'listDeployments'
  | 'enqueueCommand' | 'getCommand' | 'cancelPending'
>;

export interface DriverOptions {
  store: DriverStore;
  /** The offer one node gets for a rollout (its bundle URL carries the node's download token). */
  offer: (node: string, rollout: RolloutRow, deploymentId: string) => Promise<Offer>;
  log: Logger;
  /** Periodic pass over running rollouts (default 5 s); completed ones (for members that come back) every 12th pass. */
  tickMs?: number;
  now?: () => number;
}

export interface StepResult {
  row: RolloutRow;
  plan: Plan;
  /** Another process changed the rollout first: nothing was written, it is stepped again. */
  conflict: boolean;
  offered: number;
}

const PAGE = 1000;
const DEPLOYMENT_PAGE = 20_000;
/** An aborted rollout is looked at for this long after it was aborted (cancels to send). */
const ABORT_FOLLOW_MS = 60 * 60 * 1000;
/** A completed rollout offers to members that come back online for this long after its last change. */
const LATE_FOLLOW_MS = 14 * 24 * 60 * 60 * 1000;

/** The deployment id of a rollout's offers: one deployment per node per rollout. */
export const deploymentIdOf = (rolloutId: string) => rolloutId;
/** The id of the cancel an abort sends a node (fixed, so it is sent once). */
export const cancelIdOf = (rolloutId: string) => `cancel.${rolloutId}`.slice(0, 64);

export class RolloutDriver {
  readonly #o: DriverOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #passes = 0;
  #stopped = false;
  /** Per rollout: the step running now, and whether another was asked for meanwhile. */
  #running = new Map<string, { again: boolean; done: Promise<void> }>();
  #soon = new Set<string>();
  #soonTimer: NodeJS.Timeout | null = null;

  constructor(o: DriverOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Starts the periodic pass (and runs one now). */
  start(): void {
    this.#stopped = false;
    const tick = () => void this.pass().catch((err) => this.#o.log.error('rollout pass failed', { err }));
    this.#timer = setInterval(tick, this.#o.tickMs ?? 5000);
    this.#timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soonTimer) clearTimeout(this.#soonTimer);
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  /** Something about this rollout changed (a deployment, an operator action): step it soon. Coalesced. */
  nudge(rolloutId: string): void {
    if (this.#stopped) return;
    this.#soon.add(rolloutId);
    this.#soonTimer ??= setTimeout(() => {
      this.#soonTimer = null;
      const ids = [...this.#soon];
      this.#soon.clear();
      for (const id of ids) void this.#queue(id);
    }, 50);
  }

  /** One pass over the rollouts that can still change. */
  async pass(): Promise<void> {
    const now = this.#now();
    const slow = this.#passes++ % 12 === 0;
    const s = this.#o.store;
    const rows = [
      ...(await s.listRollouts({ status: 'running' }, { limit: 1000 })),
      ...(slow ? (await s.listRollouts({ status: 'completed' }, { limit: 1000 })).filter((r) => now - r.updatedAt < LATE_FOLLOW_MS) : []),
      ...(await s.listRollouts({ status: 'aborted' }, { limit: 100 })).filter((r) => now - r.updatedAt < ABORT_FOLLOW_MS),
    ];
    await Promise.all(rows.map((r) => this.#queue(r.id)));
  }

  /** Steps one rollout, one step at a time per rollout in this process; a request made meanwhile runs after it. */
  #queue(id: string): Promise<void> {
    const cur = this.#running.get(id);
    if (cur) {
      cur.again = true;
      return cur.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          const r = await this.step(id);
          if (r?.conflict) entry.again = true;
        } while (entry.again && !this.#stopped);
      } catch (err) {
        this.#o.log.error('rollout step failed', { rollout: id, err });
      } finally {
        this.#running.delete(id);
      }
    })();
    this.#running.set(id, entry);
    return entry.done;
  }

  /** Reads the rollout and its members and plans, without writing anything (the API's `show`). */
  async snapshot(id: string): Promise<{ row: RolloutRow; plan: Plan } | null> {
    const row = await this.#o.store.getRollout(id);
    if (!row) return null;
    const members = await this.#members(row);
    return { row, plan: plan({ spec: specOf(row), state: stateOf(row) }, members, this.#now()) };
  }

  /** One planning step with its decisions written: state first (versioned), then offers and cancels. */
  async step(id: string): Promise<StepResult | null> {
    const s = this.#o.store;
    const now = this.#now();
    const snap = await this.snapshot(id);
    if (!snap) return null;
    let { row } = snap;
    const p = snap.plan;
    if (row.status === 'paused') return { row, plan: p, conflict: false, offered: 0 };
    const aborted = row.status === 'aborted';
    if (p.changed || p.offers.length || (aborted && p.cancels.length)) {
      // Claims this state: a second process that read the same version gets null and re-reads.
      const next = await s.updateRollout(id, row.version, patchOf(p.state), now);
      if (!next) return { row, plan: p, conflict: true, offered: 0 };
      row = next;
    }
    for (const e of p.events) this.#o.log.info(`rollout ${e}`, { rollout: id });
    let offered = 0;
    for (const nodeId of p.offers) {
      const offer = await this.#o.offer(nodeId, row, deploymentIdOf(id));
      // null: another process offered it, or an abort cancelled the member meanwhile.
      if (await s.enqueueCommand(nodeId, offer, { rolloutId: id, bundleId: row.bundle.bundleId, now })) offered++;
    }
    if (aborted) {
      // Pending offers and planned members: cancelled in the store (never sent, or not started).
      if (p.waves.some((w) => (w.counts.offered ?? 0) + (w.counts.pending ?? 0) + (w.counts.offline ?? 0) + (w.counts.queued ?? 0) > 0)) {
        await s.cancelPending({ rolloutId: id }, now);
      }
      // Accepted but not started (waiting for a window): the node cancels it.
      for (const nodeId of p.cancels) {
        const cancel: Cancel = { v: 1, type: 'cancel', id: cancelIdOf(id), deploymentId: deploymentIdOf(id) };
        // Another process may have queued the same cancel a moment ago: one is enough.
        await s.enqueueCommand(nodeId, cancel, { now }).catch((err) => {
          if (!isOutpostError(err, 'E_STORE_DUPLICATE_COMMAND')) throw err;
        });
      }
    }
    return { row, plan: p, conflict: false, offered };
  }

  async #members(row: RolloutRow): Promise<Member[]> {
    const s = this.#o.store;
    const rows = [];
    for (let after: string | undefined; ;) {
      const page = await s.listRolloutMembers(row.id, undefined, { limit: PAGE, ...(after ? { after } : {}) });
      rows.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.nodeId;
    }
    const nodes = new Map<string, NodeRow>();
    for (let i = 0; i < rows.length; i += PAGE) {
      const ids = rows.slice(i, i + PAGE).map((m) => m.nodeId);
      for (const n of (await s.listNodes({ ids }, { limit: PAGE })).nodes) nodes.set(n.id, n);
    }
    const deployments = new Map<string, DeploymentRow>();
    for (let after: string | undefined; ;) {
      const page = await s.listDeployments({ rolloutId: row.id }, { limit: DEPLOYMENT_PAGE, ...(after ? { after } : {}) });
      for (const d of page) deployments.set(d.nodeId, d);
      if (page.length < DEPLOYMENT_PAGE) break;
      after = page[page.length - 1]!.nodeId;
    }
    const cancelSent = new Set<string>();
    if (row.status === 'aborted') {
      for (const d of deployments.values()) {
        if (d.state === 'accepted' && !d.result && (await s.getCommand(d.nodeId, cancelIdOf(row.id)))) cancelSent.add(d.nodeId);
      }
    }
    return rows.map((m) => {
      const n = nodes.get(m.nodeId);
      const d = deployments.get(m.nodeId);
      return {
        nodeId: m.nodeId, wave: m.wave, status: m.status, reason: m.reason,
        node: n ? fleetNodeOf(n) : null, deployment: d ? deploymentOf(d, cancelSent.has(m.nodeId)) : null,
      };
    });
  }
}
