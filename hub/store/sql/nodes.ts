// Nodes: admission at auth (identity = key fingerprint), operator edits, listing with filters,
// which hub process holds each node's socket, and preauthorised fingerprints.
import { OutpostError } from '../../../shared/errors.ts';
import type { Db, Tx } from './db.ts';
import { NODE_COLUMNS, nodeFromRow } from './rows.ts';
import { afterOf, limitOf, whereOf } from './filter.ts';
import type { StoreLimits } from '../limits.ts';
import type { NodeFilter, NodeId, NodeRow, Page } from '../records.ts';
import type { AdmitInput, AdmitResult, CountBy, NodePatch } from '../types.ts';

const FP = /^[0-9a-f]{64}$/;
const STATUSES = ['pending', 'accepted', 'rejected'];

export function checkId(id: string): string {
  if (!FP.test(id)) throw new OutpostError('E_STORE_BAD_ID', `node id must be 64 lowercase hex digits (a key fingerprint): ${JSON.stringify(id).slice(0, 80)}`);
  return id;
}

export async function readNode(tx: Tx, id: string, lock = ''): Promise<NodeRow | null> {
  const r = await tx.get(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ?${lock}`, [id]);
  return r ? nodeFromRow(r) : null;
}

async function writeTags(tx: Tx, id: string, kind: 'label' | 'compatible', values: readonly string[]): Promise<void> {
  await tx.run('DELETE FROM node_tags WHERE node_id = ? AND kind = ?', [id, kind]);
  for (const v of new Set(values)) await tx.run('INSERT INTO node_tags (node_id, kind, value) VALUES (?, ?, ?)', [id, kind, v]);
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export async function admitNode(db: Db, limits: StoreLimits, i: AdmitInput): Promise<AdmitResult> {
  checkId(i.id);
  return db.tx(async (tx) => {
    const old = await readNode(tx, i.id, db.dialect.forUpdate);
    const pre = await tx.get('SELECT id FROM preauthorized WHERE id = ?', [i.id]);
    // A hello without a site keeps the one known (e.g. from location reports).
    const site = i.site ? [i.site.id ?? null, i.site.name ?? null] : [old?.site?.id ?? null, old?.site?.name ?? null];
    const run = i.running ? [i.running.version, i.running.release, i.running.slot] : [null, null, null];
    if (!old) {
      const status = i.autoAccept || pre ? 'accepted' : 'pending';
      if (status === 'pending') {
        const c = await tx.get("SELECT COUNT(*) AS c FROM nodes WHERE status = 'pending'");
        if (Number(c?.c ?? 0) >= limits.pendingMax) return { refused: 'pending-full' as const };
      }
      await tx.run(
        `INSERT INTO nodes (id, public_key, device_id, status, name, grp, labels, compatible, site_id, site_name, region, lat, lon, location,
          agent_version, run_version, run_release, run_slot, release_floor, health, first_seen, last_seen, connected_via, outbox_epoch,
          acked_seq, reports, inventory_hash)
         VALUES (?, ?, ?, ?, NULL, NULL, '[]', ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?, 'ok', ?, ?, NULL, ?, 0, 0, NULL)`,
        [i.id, i.publicKey, i.deviceId, status, JSON.stringify(i.compatible), ...site, i.agentVersion, ...run, i.releaseFloor ?? null,
          i.now, i.now, i.outboxEpoch ?? null],
      );
      await writeTags(tx, i.id, 'compatible', i.compatible);
      return { node: (await readNode(tx, i.id))!, created: true };
    }
    const status = old.status === 'pending' && pre ? 'accepted' : old.status;
    const newEpoch = i.outboxEpoch !== undefined && old.outboxEpoch !== null && i.outboxEpoch !== old.outboxEpoch;
    await tx.run(
      `UPDATE nodes SET device_id = ?, status = ?, compatible = ?, site_id = ?, site_name = ?, agent_version = ?, run_version = ?,
        run_release = ?, run_slot = ?, release_floor = ?, last_seen = ?, outbox_epoch = ?, acked_seq = ? WHERE id = ?`,
      [i.deviceId, status, JSON.stringify(i.compatible), ...site, i.agentVersion, ...run, i.releaseFloor ?? old.releaseFloor, i.now,
        i.outboxEpoch ?? old.outboxEpoch, newEpoch ? 0 : old.ackedSeq, i.id],
    );
    if (!sameList(old.compatible, i.compatible)) await writeTags(tx, i.id, 'compatible', i.compatible);
    return { node: (await readNode(tx, i.id))!, created: false };
  });
}

export async function findNodes(db: Db, ref: string): Promise<NodeRow[]> {
  return db.read(async (tx) => {
    const r = ref.toLowerCase();
    const exact = await readNode(tx, r);
    if (exact) return [exact];
    const byName = await tx.all(`SELECT ${NODE_COLUMNS} FROM nodes WHERE device_id = ? OR name = ? ORDER BY id LIMIT 1000`, [ref, ref]);
    if (byName.length) return byName.map(nodeFromRow);
    if (!/^[0-9a-f]{8,63}$/.test(r)) return [];
    return (await tx.all(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id LIKE ? ORDER BY id LIMIT 1000`, [`${r}%`])).map(nodeFromRow);
  });
}

export async function listNodes(db: Db, filter: NodeFilter = {}, page?: Page) {
  const w = whereOf(filter);
  const limit = limitOf(page);
  const after = afterOf(page);
  return db.read(async (tx) => {
    const rows = await tx.all(
      `SELECT ${NODE_COLUMNS.split(', ').map((c) => `n.${c}`).join(', ')} FROM nodes n WHERE ${w.sql}${after !== undefined ? ' AND n.id > ?' : ''} ORDER BY n.id LIMIT ?`,
      [...w.params, ...(after !== undefined ? [after] : []), limit + 1],
    );
    const total = Number((await tx.get(`SELECT COUNT(*) AS c FROM nodes n WHERE ${w.sql}`, w.params))?.c ?? 0);
    const nodes = rows.slice(0, limit).map(nodeFromRow);
    return { nodes, total, next: rows.length > limit ? nodes[nodes.length - 1]!.id : null };
  });
}

const COUNT_EXPR: Record<CountBy, string> = {
  status: 'n.status', release: 'n.run_release', version: 'n.run_version', health: 'n.health', group: 'n.grp', siteId: 'n.site_id',
  connected: 'CASE WHEN n.connected_via IS NULL THEN 0 ELSE 1 END',
};

export async function countNodes(db: Db, filter: NodeFilter, by: CountBy) {
  const expr = COUNT_EXPR[by];
  if (!expr) throw new OutpostError('E_STORE_FILTER', `count by: ${Object.keys(COUNT_EXPR).join(' | ')}`);
  const w = whereOf(filter);
  const rows = await db.read((tx) => tx.all(`SELECT ${expr} AS k, COUNT(*) AS c FROM nodes n WHERE ${w.sql} GROUP BY ${expr} ORDER BY c DESC, k`, w.params));
  return rows.map((r) => {
    const k = r.k === null || r.k === undefined ? null : by === 'release' ? Number(r.k) : by === 'connected' ? Number(r.k) === 1 : String(r.k);
    return { key: k, count: Number(r.c) };
  });
}

export async function updateNode(db: Db, id: string, p: NodePatch): Promise<NodeRow | null> {
  if (p.status !== undefined && !STATUSES.includes(p.status)) throw new OutpostError('E_STORE_BAD_VALUE', `status: ${STATUSES.join(' | ')}`);
  if (p.labels !== undefined && (!Array.isArray(p.labels) || !p.labels.every((l) => typeof l === 'string'))) {
    throw new OutpostError('E_STORE_BAD_VALUE', 'labels: an array of strings');
  }
  return db.tx(async (tx) => {
    const old = await readNode(tx, id, db.dialect.forUpdate);
    if (!old) return null;
    const n = { ...old, ...p };
    const labels = [...new Set(n.labels)];
    await tx.run('UPDATE nodes SET status = ?, name = ?, grp = ?, labels = ?, region = ? WHERE id = ?',
      [n.status, n.name, n.group, JSON.stringify(labels), n.region, id]);
    if (p.labels !== undefined) await writeTags(tx, id, 'label', labels);
    return readNode(tx, id);
  });
}

export const NODE_TABLES = ['node_tags', 'inventories', 'locations', 'report_log', 'deployments', 'commands', 'rollout_members'];

export async function deleteNodes(tx: Tx, where: string, params: (string | number)[]): Promise<number> {
  for (const t of NODE_TABLES) await tx.run(`DELETE FROM ${t} WHERE node_id IN (SELECT id FROM nodes WHERE ${where})`, params);
  return tx.run(`DELETE FROM nodes WHERE ${where}`, params);
}

export const deleteNode = (db: Db, id: string) => db.tx(async (tx) => (await deleteNodes(tx, 'id = ?', [id])) > 0);

export async function setConnected(db: Db, id: string, hubId: string, now: number): Promise<void> {
  await db.tx((tx) => tx.run('UPDATE nodes SET connected_via = ?, last_seen = ? WHERE id = ?', [hubId, now, id]));
}

export async function setDisconnected(db: Db, id: string, hubId: string, now: number): Promise<void> {
  await db.tx((tx) => tx.run('UPDATE nodes SET connected_via = NULL, last_seen = ? WHERE id = ? AND connected_via = ?', [now, id, hubId]));
}

export const releaseConnections = (db: Db, hubId: string) =>
  db.tx((tx) => tx.run('UPDATE nodes SET connected_via = NULL WHERE connected_via = ?', [hubId]));

export async function hubAlive(db: Db, hubId: string, url: string | undefined, now: number): Promise<void> {
  await db.tx((tx) => tx.run(
    'INSERT INTO hubs (id, url, last_beat) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url, last_beat = excluded.last_beat',
    [hubId, url ?? null, now],
  ));
}

export async function reapHubs(db: Db, staleBefore: number): Promise<string[]> {
  return db.tx(async (tx) => {
    const ids = (await tx.all('SELECT id FROM hubs WHERE last_beat < ?', [staleBefore])).map((r) => String(r.id));
    for (const id of ids) {
      await tx.run('UPDATE nodes SET connected_via = NULL WHERE connected_via = ?', [id]);
      await tx.run('DELETE FROM hubs WHERE id = ?', [id]);
    }
    return ids;
  });
}

export async function listHubs(db: Db) {
  const rows = await db.read((tx) => tx.all(
    'SELECT h.id, h.url, h.last_beat, (SELECT COUNT(*) FROM nodes n WHERE n.connected_via = h.id) AS c FROM hubs h ORDER BY h.id',
  ));
  return rows.map((r) => ({ id: String(r.id), url: r.url === null ? null : String(r.url), lastBeat: Number(r.last_beat), nodes: Number(r.c) }));
}

export async function preauthorize(db: Db, ids: NodeId[], now: number): Promise<number> {
  ids.forEach(checkId);
  return db.tx(async (tx) => {
    let added = 0;
    for (const id of new Set(ids)) {
      added += await tx.run('INSERT INTO preauthorized (id, added_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', [id, now]);
      await tx.run("UPDATE nodes SET status = 'accepted' WHERE id = ? AND status = 'pending'", [id]);
    }
    return added;
  });
}

export const unpreauthorize = (db: Db, id: string) => db.tx(async (tx) => (await tx.run('DELETE FROM preauthorized WHERE id = ?', [id])) > 0);

export const countUnseenPreauthorized = (db: Db) => db.read(async (tx) =>
  Number((await tx.get('SELECT COUNT(*) AS c FROM preauthorized p WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = p.id)'))?.c ?? 0));
export const listPreauthorized = (db: Db) => db.read(async (tx) => (await tx.all('SELECT id FROM preauthorized ORDER BY id')).map((r) => String(r.id)));
