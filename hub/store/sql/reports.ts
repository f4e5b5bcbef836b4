// Reports: a batch from one node applied in one transaction (its own savepoint when several
// nodes' batches share a commit, group-commit.ts), in seq order, replays skipped; the returned
// ackedSeq is committed when the store's promise resolves (ack after commit). Per-node count
// bounds are enforced here on each write (index range deletes, never a rewrite).
import { OutpostError } from '../../../shared/errors.ts';
import type { Report } from '../../../shared/protocol/index.ts';
import type { Db, Tx } from './db.ts';
import type { Dialect } from './dialect.ts';
import { readNode } from './nodes.ts';
import { applyInventory, type HeldInventory } from './inventory.ts';
import { loadDeployment, newDeployment, refreshHealth, saveDeployment, trimDeployments } from './deployments.ts';
import { commandFromRow, inventoryFromRow, locationFromRow, reportLogFromRow } from './rows.ts';
import { limitOf } from './filter.ts';
import type { StoreLimits } from '../limits.ts';
import type { CommandRow, DeploymentRow, LastLocation, ReportLogRow } from '../records.ts';
import type { AppendResult } from '../types.ts';

async function loadInventory(tx: Tx, nodeId: string): Promise<HeldInventory | null> {
  const r = await tx.get('SELECT node_id, hash, data, nkeys, nbytes, truncated, updated_at FROM inventories WHERE node_id = ?', [nodeId]);
  if (!r) return null;
  const i = inventoryFromRow(r);
  return { data: i.data, hash: i.hash, truncated: i.truncated, keys: i.keys, bytes: i.bytes };
}

/** One node's batch inside a transaction the caller commits (alone, or with other nodes' batches). */
export async function applyReports(tx: Tx, dialect: Dialect, limits: StoreLimits, nodeId: string, reports: readonly Report[], now: number): Promise<AppendResult> {
  const node = await readNode(tx, nodeId, dialect.forUpdate);
  if (!node || node.status !== 'accepted') throw new OutpostError('E_STORE_UNKNOWN_NODE', `no accepted node ${nodeId.slice(0, 16)}`);
  let acked = node.ackedSeq;
  const todo = [...reports].sort((a, b) => a.seq - b.seq);
  const applied: ReportLogRow[] = [];
  const deployments = new Map<string, DeploymentRow>();
  const commands: CommandRow[] = [];
  let held: HeldInventory | null | undefined; // undefined: not loaded yet
  let inventoryChanged = false;
  let inventoryRefresh = false;
  let location: LastLocation | null = null;
  let locations = 0;
  let site: [string | null, string | null] | null = null;
  for (const r of todo) {
    if (r.seq <= acked) continue;
    acked = r.seq;
    let mode: string | undefined;
    switch (r.type) {
      case 'inventory': {
        if (held === undefined) held = await loadInventory(tx, nodeId);
        const out = applyInventory(held, r, limits.inventoryMaxKeys, limits.inventoryMaxBytes);
        mode = out.mode;
        if (out.next) {
          held = out.next;
          inventoryChanged = true;
        }
        if (out.mode === 'wrong-base') inventoryRefresh = true;
        break;
      }
      case 'location': {
        await tx.run(
          `INSERT INTO locations (node_id, seq, at, lat, lon, alt_m, accuracy_m, source, fix_at, moved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (node_id, seq) DO NOTHING`,
          [nodeId, r.seq, r.at, r.lat, r.lon, r.altM ?? null, r.accuracyM ?? null, r.source, r.fixAt, r.moved === undefined ? null : r.moved ? 1 : 0],
        );
        location = {
          lat: r.lat, lon: r.lon, source: r.source, fixAt: r.fixAt,
          ...(r.accuracyM !== undefined ? { accuracyM: r.accuracyM } : {}), ...(r.moved !== undefined ? { moved: r.moved } : {}),
        };
        locations++;
        // The node's provisioned site rides on its location reports too.
        if (r.site && (r.site.id !== undefined || r.site.name !== undefined)) site = [r.site.id ?? null, r.site.name ?? null];
        break;
      }
      case 'update.progress':
      case 'update.state':
      case 'update.outcome': {
        let d = deployments.get(r.deploymentId) ?? (await loadDeployment(tx, nodeId, r.deploymentId));
        if (!d) d = newDeployment(nodeId, r.deploymentId, now, 'reported');
        d = { ...d, updatedAt: now, startedAt: d.startedAt ?? now };
        if (r.type === 'update.progress') d.progress = { phase: r.phase, done: r.done, total: r.total };
        else if (r.type === 'update.state') {
          d.state = r.state;
          if (r.code !== undefined) d.code = r.code;
          if (r.message !== undefined) d.message = r.message;
        } else {
          d.state = r.result;
          d.result = r.result;
          d.code = r.code ?? null;
          d.message = r.message ?? null;
          d.log = r.log;
          d.version = r.version ?? null;
          d.finishedAt = now;
        }
        deployments.set(r.deploymentId, d);
        break;
      }
      case 'command.result': {
        const outcome = { ok: r.ok, ...(r.code !== undefined ? { code: r.code } : {}), ...(r.message !== undefined ? { message: r.message } : {}), at: now };
        const row = await tx.get(
          `UPDATE commands SET outcome = ? WHERE node_id = ? AND id = ?
           RETURNING node_id, id, type, body, rollout_id, deployment_id, status, created_at, ack, outcome`,
          [JSON.stringify(outcome), nodeId, r.ref],
        );
        if (row) commands.push(commandFromRow(row));
        break;
      }
    }
    await tx.run('INSERT INTO report_log (node_id, seq, type, at, received_at, mode) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, seq) DO NOTHING',
      [nodeId, r.seq, r.type, r.at, now, mode ?? null]);
    applied.push({ nodeId, seq: r.seq, type: r.type, at: r.at, receivedAt: now, ...(mode !== undefined ? { mode } : {}) });
  }
  if (inventoryChanged && held) {
    await tx.run(
      `INSERT INTO inventories (node_id, hash, data, nkeys, nbytes, truncated, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET hash = excluded.hash, data = excluded.data, nkeys = excluded.nkeys,
         nbytes = excluded.nbytes, truncated = excluded.truncated, updated_at = excluded.updated_at`,
      [nodeId, held.hash, JSON.stringify(held.data), held.keys, held.bytes, held.truncated ? 1 : 0, now],
    );
  }
  for (const d of deployments.values()) await saveDeployment(tx, d);
  if (deployments.size) {
    await trimDeployments(tx, nodeId, limits.deploymentsPerNode);
    await refreshHealth(tx, nodeId);
  }
  if (locations) {
    await tx.run(
      `DELETE FROM locations WHERE node_id = ? AND seq < (SELECT seq FROM locations WHERE node_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      [nodeId, nodeId, limits.locationsPerNode - 1],
    );
  }
  if (applied.length) {
    // Seqs are dense per node, so a seq range is a count bound (and one index range to delete).
    await tx.run('DELETE FROM report_log WHERE node_id = ? AND seq <= ?', [nodeId, acked - limits.reportLogPerNode]);
  }
  await tx.run(
    `UPDATE nodes SET acked_seq = ?, reports = reports + ?, last_seen = ?, inventory_hash = ?, site_id = ?, site_name = ?,
       lat = ?, lon = ?, location = ? WHERE id = ?`,
    [acked, applied.length, now, inventoryChanged ? (held?.hash ?? null) : node.inventoryHash,
      ...(site ?? [node.site?.id ?? null, node.site?.name ?? null]),
      location ? location.lat : (node.location?.lat ?? null), location ? location.lon : (node.location?.lon ?? null),
      location ? JSON.stringify(location) : node.location ? JSON.stringify(node.location) : null, nodeId],
  );
  return { ackedSeq: acked, applied, inventoryRefresh, deployments: [...deployments.values()], commands };
}

export async function getInventory(db: Db, nodeId: string) {
  const r = await db.read((tx) => tx.get('SELECT node_id, hash, data, nkeys, nbytes, truncated, updated_at FROM inventories WHERE node_id = ?', [nodeId]));
  return r ? inventoryFromRow(r) : null;
}

export async function getInventoryHash(db: Db, nodeId: string): Promise<string | null> {
  const r = await db.read((tx) => tx.get('SELECT hash FROM inventories WHERE node_id = ?', [nodeId]));
  return r && r.hash !== null ? String(r.hash) : null;
}

export async function locationHistory(db: Db, nodeId: string, o: { limit?: number; since?: number } = {}) {
  const rows = await db.read((tx) => tx.all(
    `SELECT node_id, seq, at, lat, lon, alt_m, accuracy_m, source, fix_at, moved FROM locations
     WHERE node_id = ? AND at >= ? ORDER BY seq DESC LIMIT ?`,
    [nodeId, o.since ?? 0, limitOf(o)],
  ));
  return rows.map(locationFromRow);
}

export async function reportLog(db: Db, nodeId: string, o: { limit?: number } = {}) {
  const rows = await db.read((tx) => tx.all(
    'SELECT node_id, seq, type, at, received_at, mode FROM report_log WHERE node_id = ? ORDER BY seq DESC LIMIT ?', [nodeId, limitOf(o)],
  ));
  return rows.map(reportLogFromRow);
}
