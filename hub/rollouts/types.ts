// What a rollout is (its definition, fixed at creation) and where it stands (its state, changed
// only by the planner's decisions and operator actions). Shared by the planner, the driver and
// the operator API; the store keeps both as JSON next to an optimistic `version`.
import type { NodeFilter } from '../store/types.ts';

/** Read from the bundle's signed manifest when the rollout is created, never typed by hand. */
export interface BundleIdentity {
  /** The bundle's id in the hub's bundle registry. */
  bundleId: string;
  /** Lowercase hex sha256 of the manifest entry's bytes (what the signatures cover). */
  manifestSha256: string;
  version: string;
  release: number;
  compatible: string[];
}

/**
 * Which nodes the rollout is for: a node filter of the store (group, label, compatible string,
 * site, region, location box …; every given key must match). The planner never reads it: the
 * driver resolves it into members when the rollout is created.
 */
export type RolloutTarget = NodeFilter;

/** Where a wave ends, cumulative over the rollout's members (its targeted nodes): 1% → 10% → 50% → 100%. */
export type WaveSpec = { count: number } | { percent: number };

/** Failures (failed, rolled back, rejected, timed out) beyond `count` nodes or `percent` of the nodes offered so far pause the rollout. */
export interface FailureThreshold {
  count?: number;
  percent?: number;
}

export interface RolloutSpec {
  id: string;
  bundle: BundleIdentity;
  target: RolloutTarget;
  waves: WaveSpec[];
  /** A node that started installing must commit (after its health checks) within this many seconds. */
  deadlineS: number;
  /** A wave succeeds only when at least this share of its nodes that finished committed (0: the failure threshold alone decides). */
  minSuccessPercent: number;
  threshold: FailureThreshold;
}

/** running → paused (operator or threshold) → running; running → completed; any but completed → aborted. */
export type RolloutStatus = 'running' | 'paused' | 'completed' | 'aborted';

export interface RolloutState {
  status: RolloutStatus;
  /** Index of the highest wave opened so far (-1: none yet; the first step opens wave 0). */
  wave: number;
  /** When that wave opened (ms). */
  waveStartedAt: number | null;
  /** Why it is paused or aborted, in words an operator reads. */
  reason: string | null;
  /** Failures the operator accepted when resuming: the threshold counts only failures beyond them. */
  failureBaseline: number;
}

/** One node as the planner sees it (built by the driver from the store). */
export interface FleetNode {
  /** Key fingerprint: the node's identity. */
  id: string;
  deviceId: string;
  accepted: boolean;
  online: boolean;
  /** Compatible strings reported at auth; null: not reported (an older agent, which checks them itself). */
  compatible: string[] | null;
  /** The node's anti-rollback release floor; null: unknown. */
  floor: number | null;
  running: { version: string; release: number } | null;
}

/** planned (not offered yet) → offered; skipped (not eligible when the rollout was made); cancelled (abort). */
export type MemberStatus = 'planned' | 'offered' | 'skipped' | 'cancelled';

/** A node of the rollout: its wave is fixed when the rollout is created. */
export interface Member {
  nodeId: string;
  wave: number;
  status: MemberStatus;
  reason: string | null;
  /** null: the node was deleted since. */
  node: FleetNode | null;
  deployment: NodeDeployment | null;
}

/**
 * A node's deployment of this rollout, as the hub knows it:
 * offered (sent, not acknowledged) → waiting (accepted; waits for its download window) →
 * downloading → installed (written; reboot, health checks) → committed | failed | rolled-back;
 * rejected (the node refused the offer); cancelled (abort reached it before it started).
 */
export type DeploymentPhase = 'offered' | 'waiting' | 'downloading' | 'installed' | 'committed' | 'failed' | 'rolled-back' | 'rejected' | 'cancelled';

export interface NodeDeployment {
  nodeId: string;
  phase: DeploymentPhase;
  offeredAt: number;
  /** First update.state from the node: the deadline runs from here (waiting for a window does not count). */
  startedAt: number | null;
  code?: string;
  message?: string;
  /** A cancel was sent to the node (abort); not sent twice. */
  cancelRequested?: boolean;
}
