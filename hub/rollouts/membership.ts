// Who may receive a rollout and in which wave: pure functions of the definition and the targeted
// nodes (the store resolves the target). Wave membership is a stable order (sha256 of rollout id + node id), so every hub
// process and every restart puts a node in the same wave, and two rollouts do not always pick the
// same canaries.
import { createHash } from 'node:crypto';
import type { FleetNode, MemberStatus, RolloutSpec, WaveSpec } from './types.ts';

/**
 * Why a targeted node must not get this bundle, or null when it may. The hub never offers a
 * release below the node's floor nor to a board whose compatible strings do not meet the bundle's.
 * A node that already runs this exact release is not offered it again either ("already").
 */
export function ineligible(s: RolloutSpec, n: FleetNode): string | null {
  const b = s.bundle;
  if (!n.accepted) return 'not accepted';
  if (n.compatible !== null && !n.compatible.some((c) => b.compatible.includes(c))) {
    return `incompatible: the node is ${fmtList(n.compatible)}, the bundle is for ${fmtList(b.compatible)}`;
  }
  if (n.floor !== null && b.release < n.floor) return `release ${b.release} is below the node's floor ${n.floor}`;
  if (n.running && n.running.release > b.release) return `the node runs a newer release (${n.running.version}, release ${n.running.release})`;
  return null;
}

/** The node already runs exactly this release: it counts as committed, without an offer. */
export function alreadyRunning(s: RolloutSpec, n: FleetNode): boolean {
  return n.running !== null && n.running.release === s.bundle.release && n.running.version === s.bundle.version;
}

/** Stable position of a node in a rollout's order. */
export function orderKey(rolloutId: string, nodeId: string): string {
  return createHash('sha256').update(`${rolloutId}\n${nodeId}`).digest('hex');
}

/** Node ids in wave order (stable for a given rollout). */
export function waveOrder(rolloutId: string, ids: readonly string[]): string[] {
  return ids.map((id) => ({ id, k: orderKey(rolloutId, id) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.id);
}

/**
 * Where each wave ends (cumulative, non-decreasing) among `n` nodes. A percentage rounds up, so
 * 1% of 50 nodes is one canary, not none; the last wave's end is as given (a rollout may stop short
 * of 100% on purpose).
 */
export function waveEnds(waves: readonly WaveSpec[], n: number): number[] {
  const ends: number[] = [];
  let prev = 0;
  for (const w of waves) {
    const raw = 'count' in w ? w.count : Math.ceil((w.percent * n) / 100 - 1e-9);
    prev = Math.max(prev, Math.min(n, raw));
    ends.push(prev);
  }
  return ends;
}

function fmtList(xs: readonly string[]): string {
  return xs.length ? xs.map((x) => `"${x}"`).join(', ') : '(none)';
}

export interface Assignment {
  nodeId: string;
  wave: number;
  status: Extract<MemberStatus, 'planned' | 'skipped'>;
  reason?: string;
}

/**
 * Members of a new rollout: every targeted node in the rollout's stable order, cut into waves;
 * the ones that may not receive the bundle are members too (`skipped`, with why), so each wave's
 * progress shows them and the percentages are of the whole target.
 */
export function assignWaves(s: RolloutSpec, targetedNodes: readonly FleetNode[]): Assignment[] {
  const byId = new Map(targetedNodes.map((n) => [n.id, n]));
  const order = waveOrder(s.id, [...byId.keys()]);
  const ends = waveEnds(s.waves, order.length);
  const out: Assignment[] = [];
  let w = 0;
  for (let i = 0; i < order.length && i < ends[ends.length - 1]!; i++) {
    while (i >= ends[w]!) w++;
    const why = ineligible(s, byId.get(order[i]!)!);
    out.push({ nodeId: order[i]!, wave: w, ...(why ? { status: 'skipped' as const, reason: why } : { status: 'planned' as const }) });
  }
  return out;
}
