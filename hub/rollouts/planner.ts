// The rollout planner: PURE. Given a rollout (definition + state) and its members (each with its
// wave, the node as the store last saw it, and its deployment), it decides what happens now:
// which nodes get an offer, whether the current wave succeeded (open the next one), whether
// failures passed the threshold (pause, saying why), when the rollout is complete, and which
// offers an abort cancels. The driver (driver.ts) feeds it from the store and writes its
// decisions back; the store's optimistic version keeps one decision per rollout state however
// many hub processes run it.
//
// Rules, in the order they matter:
// - failures (failed, rolled back, refused, timed out) beyond the threshold — a count, or a
//   percentage of the nodes offered so far — pause the rollout at once: no new offer goes out,
//   so later waves never receive the bundle;
// - a wave opens only when every node of the waves so far has finished or is deferred, and the
//   current wave has at least one commit (and meets minSuccessPercent); a node that was offline
//   and never got the offer does not hold it up: it gets the offer when it comes back, unless the
//   rollout was paused or aborted;
// - a node waiting for its download window is waiting, not failed: its deadline starts with its
//   first update.state, not with the offer;
// - before each offer the node is checked again: never below its floor, never to an incompatible
//   board, never a downgrade.
import { alreadyRunning, ineligible } from './membership.ts';
import type { DeploymentPhase, Member, RolloutSpec, RolloutState } from './types.ts';

/** What one member is in the rollout's progress table. */
export type NodeProgress =
  | DeploymentPhase
  | 'pending' // in an opened wave, online: the offer goes out now
  | 'offline' // in an opened wave, never offered: gets it when it returns
  | 'queued' // in a wave not opened yet
  | 'already' // already runs this release
  | 'skipped' // may not receive it (floor, compatible, newer release, deleted)
  | 'timed-out'; // started, did not commit within the deadline

export const FAILURE: ReadonlySet<NodeProgress> = new Set(['failed', 'rolled-back', 'rejected', 'timed-out']);
export const SUCCESS: ReadonlySet<NodeProgress> = new Set(['committed', 'already']);
const FINISHED: ReadonlySet<NodeProgress> = new Set([...FAILURE, ...SUCCESS, 'cancelled', 'skipped']);

export interface WaveProgress {
  index: number;
  /** Members of this wave (not cumulative), skipped ones included. */
  size: number;
  opened: boolean;
  counts: Partial<Record<NodeProgress, number>>;
}

export interface NodeNote {
  nodeId: string;
  deviceId: string;
  wave: number;
  progress: NodeProgress;
  code?: string;
  message?: string;
}

export interface Plan {
  /** The next state; `changed` says whether it differs from the one given (write it). */
  state: RolloutState;
  changed: boolean;
  /** Offer the bundle to these nodes now (online, in an opened wave, never offered, eligible). */
  offers: string[];
  /** Send these nodes a cancel (aborted; accepted but not started). */
  cancels: string[];
  /** What happened in this step, in words (wave opened, paused because …, completed). */
  events: string[];
  waves: WaveProgress[];
  /** Members that may not receive the bundle, with why. */
  skipped: NodeNote[];
  /** Members that count as failures (newest last), for "why it paused". */
  failures: NodeNote[];
  /** Members that got an offer so far (the threshold's percentage is of these). */
  offered: number;
}

const EXAMPLES = 3;

export function plan(r: { spec: RolloutSpec; state: RolloutState }, members: readonly Member[], now: number): Plan {
  const { spec } = r;
  const st: RolloutState = { ...r.state };
  const events: string[] = [];

  const progressOf = (m: Member): NodeProgress => {
    const d = m.deployment;
    if (d) {
      const started = d.phase === 'downloading' || d.phase === 'installed';
      if (started && d.startedAt !== null && now - d.startedAt > spec.deadlineS * 1000) return 'timed-out';
      return d.phase;
    }
    if (m.status === 'cancelled') return 'cancelled';
    if (m.status === 'skipped' || !m.node) return 'skipped';
    if (alreadyRunning(spec, m.node)) return 'already';
    if (ineligible(spec, m.node)) return 'skipped';
    if (m.wave > st.wave) return 'queued';
    return m.node.online ? 'pending' : 'offline';
  };
  const note = (m: Member, p: NodeProgress): NodeNote => {
    const why = m.deployment?.message ?? m.reason ?? (m.node ? ineligible(spec, m.node) : 'the node was deleted');
    return {
      nodeId: m.nodeId, deviceId: m.node?.deviceId ?? m.nodeId.slice(0, 16), wave: m.wave, progress: p,
      ...(m.deployment?.code ? { code: m.deployment.code } : {}), ...(why ? { message: why } : {}),
    };
  };

  const failures: NodeNote[] = [];
  let offered = 0;
  const recount = () => {
    failures.length = 0;
    offered = 0;
    for (const m of members) {
      if (m.deployment) offered++;
      const p = progressOf(m);
      if (FAILURE.has(p)) failures.push(note(m, p));
    }
  };
  recount();

  const tripped = (): string | null => {
    const t = spec.threshold;
    const n = failures.length - st.failureBaseline;
    if (n <= 0) return null;
    const pct = (100 * n) / Math.max(1, offered);
    if (!((t.count !== undefined && n > t.count) || (t.percent !== undefined && pct > t.percent))) return null;
    const limit = [t.count !== undefined ? `more than ${t.count}` : '', t.percent !== undefined ? `more than ${t.percent}%` : ''].filter(Boolean).join(' or ');
    const since = st.failureBaseline ? ' since the last resume' : '';
    return `failure threshold passed in wave ${st.wave + 1}: ${n} of ${offered} nodes offered failed, rolled back, refused or timed out${since} (${fmtPct(pct)}; limit ${limit}), e.g. ${examples(failures)}`;
  };

  /** null: the current wave is not done yet; '' done and good; otherwise why it is not good enough. */
  const waveVerdict = (): string | null => {
    let good = 0;
    let bad = 0;
    let open = 0;
    for (const m of members) {
      if (m.wave > st.wave) continue;
      const p = progressOf(m);
      const deferred = p === 'offline' || (p === 'offered' && !m.node?.online);
      if (!FINISHED.has(p) && !deferred) return null;
      if (m.wave !== st.wave) continue;
      if (SUCCESS.has(p)) good++;
      else if (FAILURE.has(p)) bad++;
      else if (deferred) open++;
    }
    if (good + bad === 0) return open ? null : ''; // all offline: wait for one; all skipped: nothing to prove
    if (good === 0) return `no node of wave ${st.wave + 1} committed`;
    const share = (100 * good) / (good + bad);
    if (share < spec.minSuccessPercent) return `wave ${st.wave + 1} finished with ${good} of ${good + bad} nodes committed (${fmtPct(share)}), below its success criterion of ${spec.minSuccessPercent}%`;
    return '';
  };

  if (st.status === 'running') {
    if (st.wave < 0) {
      st.wave = 0;
      st.waveStartedAt = now;
      events.push(`wave 1 of ${spec.waves.length} opened (${members.filter((m) => m.wave === 0).length} nodes)`);
    }
    for (;;) {
      const why = tripped();
      if (why) {
        st.status = 'paused';
        st.reason = why;
        events.push(`paused: ${why}`);
        break;
      }
      const verdict = waveVerdict();
      if (verdict === null) break;
      if (verdict) {
        st.status = 'paused';
        st.reason = verdict;
        events.push(`paused: ${verdict}`);
        break;
      }
      if (st.wave >= spec.waves.length - 1) {
        st.status = 'completed';
        st.reason = null;
        events.push(`completed: all ${spec.waves.length} waves done`);
        break;
      }
      st.wave++;
      st.waveStartedAt = now;
      events.push(`wave ${st.wave + 1} of ${spec.waves.length} opened (${members.filter((m) => m.wave === st.wave).length} nodes)`);
      recount();
    }
  }

  // A completed rollout still offers to members that come back; a stopped one offers nothing.
  const offers: string[] = [];
  const cancels: string[] = [];
  const skipped: NodeNote[] = [];
  const waves: WaveProgress[] = spec.waves.map((_, i) => ({ index: i, size: 0, opened: i <= st.wave, counts: {} }));
  for (const m of members) {
    const p = progressOf(m);
    if (p === 'pending' && (st.status === 'running' || st.status === 'completed')) offers.push(m.nodeId);
    if (st.status === 'aborted' && m.deployment && (m.deployment.phase === 'offered' || m.deployment.phase === 'waiting') && !m.deployment.cancelRequested) cancels.push(m.nodeId);
    if (p === 'skipped') skipped.push(note(m, p));
    const w = waves[m.wave];
    if (!w) continue;
    w.size++;
    w.counts[p] = (w.counts[p] ?? 0) + 1;
  }
  const changed = st.status !== r.state.status || st.wave !== r.state.wave || st.reason !== r.state.reason;
  return { state: st, changed, offers, cancels, events, waves, skipped, failures, offered };
}

function examples(f: readonly NodeNote[]): string {
  return f.slice(-EXAMPLES).map((x) => `${x.deviceId} ${x.progress}${x.code ? ` (${x.code})` : ''}`).join(', ');
}

function fmtPct(p: number): string {
  return `${p.toFixed(1)}%`;
}

/** A new rollout's state: running, no wave opened yet (the first step opens wave 1). */
export function initialState(): RolloutState {
  return { status: 'running', wave: -1, waveStartedAt: null, reason: null, failureBaseline: 0 };
}
