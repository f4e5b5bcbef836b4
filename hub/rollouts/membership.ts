// Who a rollout is for, who may receive it, and in which wave: pure functions of the definition
// and the fleet. Wave membership is a stable order (sha256 of rollout id + node id), so every hub
// process and every restart puts a node in the same wave, and two rollouts do not always pick the
// same canaries.
import { createHash } from 'node:crypto';
import type { FleetNode, RolloutSpec, RolloutTarget, WaveSpec } from './types.ts';

/** True when the node matches every key of the target. */
export function targeted(t: RolloutTarget, n: FleetNode): boolean {
  if (t.group !== undefined && !n.groups.includes(t.group)) return false;
  if (t.label !== undefined) {
    const eq = t.label.indexOf('=');
    const [k, v] = eq < 0 ? [t.label, null] : [t.label.slice(0, eq), t.label.slice(eq + 1)];
    if (!(k in n.labels) || (v !== null && n.labels[k] !== v)) return false;
  }
  if (t.compatible !== undefined && !(n.compatible ?? []).includes(t.compatible)) return false;
  if (t.site !== undefined && n.site !== t.site) return false;
  if (t.region !== undefined && n.region !== t.region) return false;
  return true;
}

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
