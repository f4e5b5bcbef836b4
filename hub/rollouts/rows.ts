// Between the store's rows and the planner's view: a rollout row is a definition plus a state, a
// node row is a FleetNode, a deployment row (the agent's own state names) is a DeploymentPhase.
import type { DeploymentRow, NodeRow, RolloutPatch, RolloutRow, WaveSpec as StoreWave } from '../store/types.ts';
import type { DeploymentPhase, FleetNode, NodeDeployment, RolloutSpec, RolloutState, WaveSpec } from './types.ts';

export function specOf(r: RolloutRow): RolloutSpec {
  return {
    id: r.id,
    bundle: { bundleId: r.bundle.bundleId, manifestSha256: r.bundle.manifestSha256, version: r.bundle.version, release: r.bundle.release, compatible: r.bundle.compatible },
    target: { ...r.target },
    waves: r.waves.map(waveOf),
    deadlineS: r.success.deadlineS,
    minSuccessPercent: r.success.minSuccessPercent,
    threshold: {
      ...(r.failure.maxFailures !== undefined ? { count: r.failure.maxFailures } : {}),
      ...(r.failure.maxFailurePercent !== undefined ? { percent: r.failure.maxFailurePercent } : {}),
    },
  };
}

function waveOf(w: StoreWave): WaveSpec {
  return w.count !== undefined ? { count: w.count } : { percent: w.percent ?? 100 };
}

export function toStoreWave(w: WaveSpec): StoreWave {
  return 'count' in w ? { count: w.count } : { percent: w.percent };
}

export function stateOf(r: RolloutRow): RolloutState {
  return {
    status: r.status, wave: r.currentWave, waveStartedAt: r.waveStartedAt, reason: r.pausedReason,
    failureBaseline: r.failureBaseline,
  };
}

export function patchOf(s: RolloutState): RolloutPatch {
  return { status: s.status, currentWave: s.wave, waveStartedAt: s.waveStartedAt, pausedReason: s.reason, failureBaseline: s.failureBaseline };
}

export function fleetNodeOf(n: NodeRow): FleetNode {
  return {
    id: n.id, deviceId: n.name ?? n.deviceId, accepted: n.status === 'accepted', online: n.connectedVia !== null,
    // An agent that predates compatible strings in its hello reports none; it checks them itself.
    compatible: n.compatible.length ? n.compatible : null,
    floor: n.releaseFloor, running: n.running ? { version: n.running.version, release: n.running.release } : null,
  };
}

// The agent's update states before its slot holds the new image; after these it is installing.
const DOWNLOADING = new Set(['preparing', 'writing', 'verifying']);
const RESULT: Record<NonNullable<DeploymentRow['result']>, DeploymentPhase> = {
  success: 'committed', failure: 'failed', 'rolled-back': 'rolled-back', cancelled: 'cancelled', rejected: 'rejected',
};

export function phaseOf(d: DeploymentRow): DeploymentPhase {
  if (d.result) return RESULT[d.result];
  if (d.state === 'offered') return 'offered';
  if (d.state === 'accepted') return 'waiting';
  return DOWNLOADING.has(d.state) ? 'downloading' : 'installed';
}

export function deploymentOf(d: DeploymentRow, cancelRequested: boolean): NodeDeployment {
  const phase = phaseOf(d);
  const started = phase !== 'offered' && phase !== 'waiting';
  return {
    nodeId: d.nodeId, phase, offeredAt: d.createdAt,
    startedAt: started ? (d.startedAt ?? d.updatedAt) : null,
    ...(d.code ? { code: d.code } : {}), ...(d.message ? { message: d.message } : {}),
    ...(cancelRequested ? { cancelRequested } : {}),
  };
}
