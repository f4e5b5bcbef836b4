// Deployment rows (one per node and deployment id) and the node health derived from them. Shared
// by report application (update.* reports), command acks and offers.
import type { Tx } from './db.ts';
import { deploymentFromRow } from './rows.ts';
import type { DeploymentRow, NodeHealth } from '../records.ts';

const COLS = 'node_id, deployment_id, rollout_id, bundle_id, state, progress, result, code, message, log, version, created_at, updated_at, started_at, finished_at';

export async function loadDeployment(tx: Tx, nodeId: string, deploymentId: string): Promise<DeploymentRow | null> {
  const r = await tx.get(`SELECT ${COLS} FROM deployments WHERE node_id = ? AND deployment_id = ?`, [nodeId, deploymentId]);
  return r ? deploymentFromRow(r) : null;
}

export function newDeployment(nodeId: string, deploymentId: string, now: number, state: string): DeploymentRow {
  return {
    nodeId, deploymentId, rolloutId: null, bundleId: null, state, progress: null, result: null, code: null, message: null,
    log: null, version: null, createdAt: now, updatedAt: now, startedAt: null, finishedAt: null,
  };
}

/** Insert or update; rollout_id, bundle_id and created_at are kept from the first write. */
export async function saveDeployment(tx: Tx, d: DeploymentRow): Promise<void> {
  await tx.run(
    `INSERT INTO deployments (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (node_id, deployment_id) DO UPDATE SET state = excluded.state, progress = excluded.progress,
       result = excluded.result, code = excluded.code, message = excluded.message, log = excluded.log,
       version = excluded.version, updated_at = excluded.updated_at, started_at = excluded.started_at,
       finished_at = excluded.finished_at`,
    [d.nodeId, d.deploymentId, d.rolloutId, d.bundleId, d.state, d.progress ? JSON.stringify(d.progress) : null, d.result, d.code,
      d.message, d.log, d.version, d.createdAt, d.updatedAt, d.startedAt, d.finishedAt],
  );
}

/** Keeps the newest `keep` deployments of a node; older finished ones go. */
export async function trimDeployments(tx: Tx, nodeId: string, keep: number): Promise<void> {
  await tx.run(
    `DELETE FROM deployments WHERE node_id = ? AND finished_at IS NOT NULL AND created_at <
       (SELECT created_at FROM deployments WHERE node_id = ? ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
    [nodeId, nodeId, keep - 1],
  );
}

export async function refreshHealth(tx: Tx, nodeId: string): Promise<void> {
  const r = await tx.get('SELECT result, finished_at FROM deployments WHERE node_id = ? ORDER BY created_at DESC, updated_at DESC LIMIT 1', [nodeId]);
  let health: NodeHealth = 'ok';
  if (r && (r.finished_at === null || r.finished_at === undefined)) health = 'updating';
  else if (r && (r.result === 'failure' || r.result === 'rolled-back')) health = 'failing';
  await tx.run('UPDATE nodes SET health = ? WHERE id = ?', [health, nodeId]);
}

export const DEPLOYMENT_COLUMNS = COLS;
