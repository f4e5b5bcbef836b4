// The command queue: a command is stored as pending for its node before anything is sent, re-sent
// on every connection until the node acks it, and announced on the bus so whichever hub process
// holds the node's socket sends it now. Offers carry their deployment row (and rollout member).
import { OutpostError } from '../../../shared/errors.ts';
import type { AckResult, Command } from '../../../shared/protocol/index.ts';
import type { Db, Param, Tx } from './db.ts';
import { readNode } from './nodes.ts';
import { commandFromRow, deploymentFromRow } from './rows.ts';
import { DEPLOYMENT_COLUMNS, loadDeployment, newDeployment, refreshHealth, saveDeployment, trimDeployments } from './deployments.ts';
import { limitOf } from './filter.ts';
import type { StoreLimits } from '../limits.ts';
import type { CommandRow, DeploymentRow, Page } from '../records.ts';

const COLS = 'node_id, id, type, body, rollout_id, deployment_id, status, created_at, ack, outcome';
const C_COLS = COLS.split(', ').map((c) => `c.${c}`).join(', ');

// Order of commands for one node: ms clock with a per-process counter for commands in the same ms.
let lastOrd = 0;
const nextOrd = (now: number) => (lastOrd = Math.max(now * 1000, lastOrd + 1));

const deploymentOf = (c: Command): string | null => (c.type === 'offer' || c.type === 'cancel' ? c.deploymentId : null);

export async function enqueueCommand(
  db: Db, limits: StoreLimits, nodeId: string, command: Command, o: { rolloutId?: string; bundleId?: string; now: number },
): Promise<CommandRow | null> {
  return db.tx(async (tx) => {
    const node = await readNode(tx, nodeId, db.dialect.forUpdate);
    if (!node || node.status !== 'accepted') throw new OutpostError('E_STORE_UNKNOWN_NODE', `no accepted node ${nodeId.slice(0, 16)}`);
    const deploymentId = deploymentOf(command);
    if (o.rolloutId !== undefined && command.type === 'offer') {
      const n = await tx.run(
        "UPDATE rollout_members SET status = 'offered', deployment_id = ?, updated_at = ? WHERE rollout_id = ? AND node_id = ? AND status = 'planned'",
        [deploymentId, o.now, o.rolloutId, nodeId],
      );
      if (n === 0) return null;
    }
    const added = await tx.run(
      `INSERT INTO commands (${COLS}, ord, finished_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, ?, NULL) ON CONFLICT (node_id, id) DO NOTHING`,
      [nodeId, command.id, command.type, JSON.stringify(command), o.rolloutId ?? null, deploymentId, o.now, nextOrd(o.now)],
    );
    if (added === 0) throw new OutpostError('E_STORE_DUPLICATE_COMMAND', `command ${command.id} already exists for this node`);
    if (command.type === 'offer') {
      const old = await loadDeployment(tx, nodeId, command.deploymentId);
      if (!old) {
        await saveDeployment(tx, { ...newDeployment(nodeId, command.deploymentId, o.now, 'offered'), rolloutId: o.rolloutId ?? null, bundleId: o.bundleId ?? null });
        await trimDeployments(tx, nodeId, limits.deploymentsPerNode);
        await refreshHealth(tx, nodeId);
      }
    }
    return commandFromRow((await tx.get(`SELECT ${COLS} FROM commands WHERE node_id = ? AND id = ?`, [nodeId, command.id]))!);
  });
}

export async function outstandingCommands(db: Db, nodeId: string): Promise<CommandRow[]> {
  // Offers of a paused or aborted rollout wait (a stopped rollout reaches nobody new).
  const rows = await db.read((tx) => tx.all(
    `SELECT ${C_COLS} FROM commands c LEFT JOIN rollouts r ON r.id = c.rollout_id
     WHERE c.node_id = ? AND c.status = 'pending' AND (c.type <> 'offer' OR r.status IS NULL OR r.status NOT IN ('paused', 'aborted'))
     ORDER BY c.ord`,
    [nodeId],
  ));
  return rows.map(commandFromRow);
}

export async function getCommand(db: Db, nodeId: string, id: string): Promise<CommandRow | null> {
  const r = await db.read((tx) => tx.get(`SELECT ${COLS} FROM commands WHERE node_id = ? AND id = ?`, [nodeId, id]));
  return r ? commandFromRow(r) : null;
}

async function trimCommands(tx: Tx, nodeId: string, keep: number): Promise<void> {
  await tx.run(
    `DELETE FROM commands WHERE node_id = ? AND status <> 'pending' AND finished_at <
       (SELECT finished_at FROM commands WHERE node_id = ? AND status <> 'pending' ORDER BY finished_at DESC LIMIT 1 OFFSET ?)`,
    [nodeId, nodeId, keep - 1],
  );
}

export async function ackCommand(
  db: Db, limits: StoreLimits, nodeId: string, ref: string, ack: { result: AckResult; code?: string; message?: string }, now: number,
): Promise<CommandRow | null> {
  return db.tx(async (tx) => {
    const r = await tx.get(`SELECT ${COLS} FROM commands WHERE node_id = ? AND id = ?${db.dialect.forUpdate}`, [nodeId, ref]);
    if (!r) return null;
    const row = commandFromRow(r);
    if (row.ack) return row; // a repeated ack changes nothing
    const a = { result: ack.result, ...(ack.code !== undefined ? { code: ack.code } : {}), ...(ack.message !== undefined ? { message: ack.message } : {}), at: now };
    const status = row.status === 'pending' ? 'acked' : row.status;
    await tx.run('UPDATE commands SET status = ?, ack = ?, finished_at = ? WHERE node_id = ? AND id = ?', [status, JSON.stringify(a), now, nodeId, ref]);
    if (row.command.type === 'offer' && row.status === 'pending') {
      const d = await loadDeployment(tx, nodeId, row.command.deploymentId);
      if (d && d.finishedAt === null) {
        if (ack.result === 'rejected') {
          await saveDeployment(tx, { ...d, state: 'rejected', result: 'rejected', code: ack.code ?? null, message: ack.message ?? null, updatedAt: now, finishedAt: now });
        } else if (d.state === 'offered') await saveDeployment(tx, { ...d, state: 'accepted', updatedAt: now });
        await refreshHealth(tx, nodeId);
      }
    }
    await trimCommands(tx, nodeId, limits.finishedCommandsPerNode);
    return { ...row, status, ack: a };
  });
}

export async function cancelPending(db: Db, scope: { rolloutId?: string; nodeId?: string; deploymentId?: string }, now: number): Promise<CommandRow[]> {
  const parts: string[] = [];
  const params: Param[] = [];
  for (const [col, v] of [['rollout_id', scope.rolloutId], ['node_id', scope.nodeId], ['deployment_id', scope.deploymentId]] as const) {
    if (v === undefined) continue;
    parts.push(`${col} = ?`);
    params.push(v);
  }
  if (!parts.length) throw new OutpostError('E_STORE_BAD_VALUE', 'cancelPending: give a rolloutId, nodeId or deploymentId');
  return db.tx(async (tx) => {
    const rows = (await tx.all(`SELECT ${COLS} FROM commands WHERE status = 'pending' AND ${parts.join(' AND ')}${db.dialect.forUpdate}`, params)).map(commandFromRow);
    const nodes = new Set<string>();
    for (const c of rows) {
      await tx.run("UPDATE commands SET status = 'cancelled', finished_at = ? WHERE node_id = ? AND id = ?", [now, c.nodeId, c.id]);
      if (c.command.type !== 'offer') continue;
      const d = await loadDeployment(tx, c.nodeId, c.command.deploymentId);
      if (d && d.finishedAt === null) await saveDeployment(tx, { ...d, state: 'cancelled', result: 'cancelled', updatedAt: now, finishedAt: now });
      if (c.rolloutId !== null) {
        await tx.run("UPDATE rollout_members SET status = 'cancelled', updated_at = ? WHERE rollout_id = ? AND node_id = ?", [now, c.rolloutId, c.nodeId]);
      }
      nodes.add(c.nodeId);
    }
    for (const n of nodes) await refreshHealth(tx, n);
    if (scope.rolloutId !== undefined && scope.deploymentId === undefined) {
      await tx.run(
        `UPDATE rollout_members SET status = 'cancelled', updated_at = ? WHERE rollout_id = ? AND status = 'planned'${scope.nodeId !== undefined ? ' AND node_id = ?' : ''}`,
        [now, scope.rolloutId, ...(scope.nodeId !== undefined ? [scope.nodeId] : [])],
      );
    }
    return rows.map((c) => ({ ...c, status: 'cancelled' as const }));
  });
}

export async function listCommands(db: Db, scope: { nodeId?: string; rolloutId?: string; status?: CommandRow['status'] }, page?: { limit?: number }) {
  const parts: string[] = ['1 = 1'];
  const params: Param[] = [];
  for (const [col, v] of [['node_id', scope.nodeId], ['rollout_id', scope.rolloutId], ['status', scope.status]] as const) {
    if (v === undefined) continue;
    parts.push(`${col} = ?`);
    params.push(v);
  }
  const rows = await db.read((tx) => tx.all(`SELECT ${COLS} FROM commands WHERE ${parts.join(' AND ')} ORDER BY ord DESC LIMIT ?`, [...params, limitOf(page)]));
  return rows.map(commandFromRow);
}

export async function getDeployment(db: Db, nodeId: string, deploymentId: string): Promise<DeploymentRow | null> {
  return db.read((tx) => loadDeployment(tx, nodeId, deploymentId));
}

export const MAX_ROLLOUT_PAGE = 100_000;

export async function listDeployments(db: Db, scope: { nodeId?: string; rolloutId?: string; unfinished?: boolean }, page?: Page) {
  const parts: string[] = ['1 = 1'];
  const params: Param[] = [];
  if (scope.nodeId !== undefined) {
    parts.push('node_id = ?');
    params.push(scope.nodeId);
  }
  if (scope.rolloutId !== undefined) {
    parts.push('rollout_id = ?');
    params.push(scope.rolloutId);
  }
  if (scope.unfinished) parts.push('finished_at IS NULL');
  const byNode = scope.rolloutId !== undefined;
  if (byNode && page?.after !== undefined) {
    parts.push('node_id > ?');
    params.push(page.after);
  }
  const order = byNode ? 'node_id, deployment_id' : 'created_at DESC, node_id';
  const rows = await db.read((tx) => tx.all(
    `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE ${parts.join(' AND ')} ORDER BY ${order} LIMIT ?`,
    [...params, limitOf(page, byNode ? MAX_ROLLOUT_PAGE : undefined)],
  ));
  return rows.map(deploymentFromRow);
}
