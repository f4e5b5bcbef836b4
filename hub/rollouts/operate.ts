// Operator actions on a stored rollout (pause, resume, abort), written with the row's optimistic
// version like every driver decision, and the rollout as an operator reads it (per-wave progress,
// why it paused, what was skipped).
import type { HubStore, RolloutRow } from '../store/types.ts';
import { RolloutError, abort, pause, resume } from './actions.ts';
import type { RolloutDriver } from './driver.ts';
import type { NodeNote, Plan } from './planner.ts';
import { patchOf, stateOf } from './rows.ts';
import type { RolloutState } from './types.ts';

export type Action = 'pause' | 'resume' | 'abort';

/** Applies an action; retried when a driver step wrote the row in between. */
export async function act(store: Pick<HubStore, 'updateRollout' | 'cancelPending'>, driver: RolloutDriver, id: string, action: Action, reason: string, now: () => number): Promise<RolloutRow> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const snap = await driver.snapshot(id);
    if (!snap) throw new RolloutError('E_ROLLOUT_UNKNOWN', `no rollout ${id}`, 404);
    const s = stateOf(snap.row);
    const next: RolloutState = action === 'pause' ? pause(s, reason) : action === 'resume' ? resume(s, snap.plan.failures.length) : abort(s, reason);
    const row = await store.updateRollout(id, snap.row.version, patchOf(next), now());
    if (!row) continue;
    // Offers not sent or not acknowledged yet, and members never offered, are cancelled at once;
    // the driver sends a cancel to nodes that accepted but have not started.
    if (action === 'abort') await store.cancelPending({ rolloutId: id }, now());
    driver.nudge(id);
    return row;
  }
  throw new RolloutError('E_ROLLOUT_BUSY', `rollout ${id} kept changing; try again`, 503);
}

const LIST_CAP = 50;

/** One line per wave: its end as given, its size and what its nodes are doing. */
export function view(row: RolloutRow, p: Plan) {
  return {
    id: row.id, name: row.name, status: row.status, reason: row.pausedReason,
    bundle: row.bundle, target: row.target,
    wave: row.currentWave + 1, waves: row.waves.length,
    waveStartedAt: row.waveStartedAt,
    threshold: row.failure, success: row.success, offer: row.offer,
    offered: p.offered, failures: p.failures.length, skipped: p.skipped.length,
    progress: p.waves.map((w, i) => ({ wave: i + 1, end: waveEnd(row.waves[i]!), size: w.size, opened: w.opened, counts: w.counts })),
    failed: notes(p.failures), skippedNodes: notes(p.skipped),
    createdAt: row.createdAt, createdBy: row.createdBy, updatedAt: row.updatedAt, version: row.version,
  };
}

/** The list's one line per rollout, from the row alone (no member scan). */
export function summary(row: RolloutRow) {
  return {
    id: row.id, name: row.name, status: row.status, bundle: `${row.bundle.bundleId} (${row.bundle.version}, release ${row.bundle.release})`,
    wave: row.currentWave + 1, waves: row.waves.length, reason: row.pausedReason, createdAt: row.createdAt, updatedAt: row.updatedAt,
  };
}

function waveEnd(w: { count?: number; percent?: number }): string {
  return w.count !== undefined ? String(w.count) : `${w.percent}%`;
}

function notes(n: readonly NodeNote[]) {
  return n.slice(-LIST_CAP).map((x) => ({ node: x.nodeId, device: x.deviceId, wave: x.wave + 1, progress: x.progress, ...(x.code ? { code: x.code } : {}), ...(x.message ? { message: x.message } : {}) }));
}
