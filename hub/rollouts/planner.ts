// The rollout planner: PURE. Given a rollout (definition + state), the fleet and the rollout's
// deployments, it decides what happens now: which nodes get an offer, whether the current wave
// succeeded (open the next one), whether failures passed the threshold (pause, saying why), when
// the rollout is complete, and which offers an abort cancels. The driver (driver.ts) feeds it
// from the store and writes its decisions back; any number of hub processes may run it, the
// store's optimistic version keeps one decision per rollout state.
//
// Rules, in the order they matter:
// - a wave opens only after every reachable node of the waves so far has settled (committed,
//   failed, rolled back, rejected, cancelled, or timed out) with at least one commit in the wave;
//   nodes that were offline and never got the offer do not hold it up: they get the offer when
//   they come back, unless the rollout was paused or aborted;
// - a node waiting for its download window is waiting, not failed: its deadline starts with its
//   first update.state, not with the offer;
// - failures beyond the threshold (count, or percent of the nodes in the opened waves) pause the
//   rollout at once: no new offer goes out, so later waves never receive the bundle.
import { alreadyRunning, ineligible, targeted, waveEnds, waveOrder } from './membership.ts';
import type { DeploymentPhase, FleetNode, NodeDeployment, RolloutRecord, RolloutState } from './types.ts';

/** What one node is in the rollout's progress table. */
export type NodeProgress =
  | DeploymentPhase
  | 'pending' // in an opened wave, online, offer goes out now
  | 'offline' // in an opened wave, never offered: gets it when it returns
  | 'queued' // in a wave not opened yet
  | 'already' // already runs this release
  | 'timed-out'; // started, did not commit within the deadline

export const FAILURE: ReadonlySet<NodeProgress> = new Set(['failed', 'rolled-back', 'rejected', 'timed-out']);
const SUCCESS: ReadonlySet<NodeProgress> = new Set(['committed', 'already']);
const SETTLED: ReadonlySet<NodeProgress> = new Set([...FAILURE, ...SUCCESS, 'cancelled']);

export interface WaveProgress {
  index: number;
  /** Nodes in this wave (not cumulative). */
  size: number;
  opened: boolean;
  counts: Partial<Record<NodeProgress, number>>;
}

export interface NodeNote {
  nodeId: string;
  deviceId: string;
  progress: NodeProgress | 'skipped';
  wave: number | null;
  code?: string;
  message?: string;
}

export interface Plan {
  /** The next state; `changed` says whether it differs from the one given (write it). */
  state: RolloutState;
  changed: boolean;
  /** Offer the bundle to these nodes now (online, in an opened wave, never offered). */
  offers: FleetNode[];
  /** Cancel these nodes' offers (aborted, not started yet). */
  cancels: string[];
  /** What happened in this step, in words (wave opened, paused because …, completed). */
  events: string[];
  waves: WaveProgress[];
  /** Targeted nodes that may not receive the bundle, with why. */
  skipped: NodeNote[];
  /** Nodes that count as failures, for "why it paused". */
  failures: NodeNote[];
  failureCount: number;
  /** Nodes in the opened waves (the threshold's percentage is of these). */
  reached: number;
}

const EXAMPLES = 3;

export function plan(r: Pick<RolloutRecord, 'spec' | 'state'>, fleet: readonly FleetNode[], deployments: ReadonlyMap<string, NodeDeployment>, now: number): Plan {
  const { spec } = r;
  const st: RolloutState = { ...r.state, waveStartedAt: [...r.state.waveStartedAt] };
  const events: string[] = [];
  const skipped: NodeNote[] = [];
  const byId = new Map<string, FleetNode>();
  // Members: eligible targeted nodes, plus every node that already has a deployment of this
  // rollout (it stays counted even if it left the target since).
  const members: string[] = [];
  for (const n of fleet) {
    byId.set(n.id, n);
    const has = deployments.has(n.id);
    if (!has && !targeted(spec.target, n)) continue;
    const why = has ? null : ineligible(spec, n);
    if (why) {
      if (n.accepted) skipped.push({ nodeId: n.id, deviceId: n.deviceId, progress: 'skipped', wave: null, message: why });
      continue;
    }
    members.push(n.id);
  }
  const order = waveOrder(spec.id, members);
  const ends = waveEnds(spec.waves, order.length);
  const waveOf = new Map<string, number>();
  let w = 0;
  order.forEach((id, i) => {
    while (w < ends.length - 1 && i >= ends[w]!) w++;
    waveOf.set(id, i < ends[ends.length - 1]! ? w : -1); // -1: beyond the last wave's end
  });

  const progressOf = (id: string): NodeProgress => {
    const d = deployments.get(id);
    const n = byId.get(id)!;
    const wv = waveOf.get(id)!;
    if (d) {
      const started = d.phase === 'downloading' || d.phase === 'installed';
      if (started && d.startedAt !== null && now - d.startedAt > spec.deadlineS * 1000) return 'timed-out';
      return d.phase;
    }
    if (alreadyRunning(spec, n)) return 'already';
    if (wv < 0 || wv > st.wave) return 'queued';
    return n.online ? 'pending' : 'offline';
  };
  const stopped = () => st.status === 'paused' || st.status === 'aborted';

  // Failures over everything this rollout reached.
  const failures: NodeNote[] = [];
  const count = () => {
    failures.length = 0;
    let reached = 0;
    for (const id of order) {
      const wv = waveOf.get(id)!;
      const p = progressOf(id);
      if ((wv >= 0 && wv <= st.wave) || deployments.has(id)) reached++;
      if (FAILURE.has(p)) {
        const d = deployments.get(id);
        failures.push({ nodeId: id, deviceId: byId.get(id)!.deviceId, progress: p, wave: wv < 0 ? null : wv, ...(d?.code ? { code: d.code } : {}), ...(d?.message ? { message: d.message } : {}) });
      }
    }
    return reached;
  };
  let reached = count();

  const tripped = (): string | null => {
    const t = spec.threshold;
    const n = failures.length - st.failureBaseline;
    if (n <= 0) return null;
    const overCount = t.count !== undefined && n > t.count;
    const pct = reached ? (100 * n) / reached : 0;
    const overPct = t.percent !== undefined && pct > t.percent;
    if (!overCount && !overPct) return null;
    const limit = [t.count !== undefined ? `${t.count} node${t.count === 1 ? '' : 's'}` : '', t.percent !== undefined ? `${t.percent}%` : ''].filter(Boolean).join(' or ');
    const examples = failures.slice(-EXAMPLES).map((f) => `${f.deviceId} ${f.progress}${f.code ? ` (${f.code})` : ''}`).join(', ');
    const since = st.failureBaseline ? ` since the last resume` : '';
    return `failure threshold passed in wave ${st.wave + 1}: ${n} of ${reached} nodes reached failed, rolled back, were refused or timed out${since} (${pct.toFixed(1)}%; limit ${limit}), e.g. ${examples}`;
  };

  // Whether every node of the opened waves is settled or deferred, with a commit in the current wave.
  const waveDone = (): boolean => {
    let committedHere = 0;
    let membersHere = 0;
    for (const id of order) {
      const wv = waveOf.get(id)!;
      if (wv < 0 || wv > st.wave) continue;
      const p = progressOf(id);
      const n = byId.get(id)!;
      const deferred = p === 'offline' || (p === 'offered' && !n.online);
      if (!SETTLED.has(p) && !deferred) return false;
      if (wv === st.wave) {
        membersHere++;
        if (SUCCESS.has(p)) committedHere++;
      }
    }
    return membersHere === 0 || committedHere > 0;
  };

  if (st.status === 'running') {
    for (;;) {
      const why = tripped();
      if (why) {
        st.status = 'paused';
        st.reason = why;
        events.push(`paused: ${why}`);
        break;
      }
      if (!waveDone()) break;
      if (st.wave >= spec.waves.length - 1) {
        st.status = 'completed';
        st.reason = null;
        events.push(`completed: all ${spec.waves.length} waves done`);
        break;
      }
      st.wave++;
      st.waveStartedAt[st.wave] = now;
      events.push(`wave ${st.wave + 1} of ${spec.waves.length} opened (${sizeOf(ends, st.wave)} nodes)`);
      reached = count();
    }
  }

  const offers: FleetNode[] = [];
  if (!stopped()) {
    for (const id of order) {
      if (progressOf(id) === 'pending') offers.push(byId.get(id)!);
    }
  }
  const cancels: string[] = [];
  if (st.status === 'aborted') {
    for (const d of deployments.values()) {
      if ((d.phase === 'offered' || d.phase === 'waiting') && !d.cancelRequested) cancels.push(d.nodeId);
    }
  }

  const waves: WaveProgress[] = spec.waves.map((_, i) => ({ index: i, size: sizeOf(ends, i), opened: i <= st.wave, counts: {} }));
  for (const id of order) {
    const wv = waveOf.get(id)!;
    if (wv < 0) continue;
    const c = waves[wv]!.counts;
    const p = progressOf(id);
    c[p] = (c[p] ?? 0) + 1;
  }
  st.updatedAt = r.state.updatedAt;
  const changed = st.status !== r.state.status || st.wave !== r.state.wave || st.reason !== r.state.reason;
  if (changed) st.updatedAt = now;
  return { state: st, changed, offers, cancels, events, waves, skipped, failures, failureCount: failures.length, reached };
}

function sizeOf(ends: readonly number[], i: number): number {
  return ends[i]! - (i ? ends[i - 1]! : 0);
}

/** A fresh state for a new rollout: wave 1 open. */
export function initialState(now: number): RolloutState {
  return { status: 'running', wave: 0, waveStartedAt: [now], reason: null, failureBaseline: 0, updatedAt: now };
}
