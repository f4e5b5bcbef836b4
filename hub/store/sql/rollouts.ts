// Rollouts and their members. Every change names the version it read (optimistic concurrency):
// of two hub processes deciding the same step, exactly one update succeeds.
import { OutpostError } from '../../../shared/errors.ts';
import type { Db, Param, Tx } from './db.ts';
import { memberFromRow, rolloutFromRow } from './rows.ts';
import { afterOf, limitOf } from './filter.ts';
import type { RolloutRow, WaveProgress, Page, MemberStatus } from '../records.ts';
import type { MemberInput, NewRollout, RolloutPatch } from '../types.ts';

const COLS = 'id, name, bundle, target, waves, success, failure, offer, status, current_wave, wave_started_at, paused_reason, failure_baseline, created_at, updated_at, created_by, version';
const STATUSES = ['running', 'paused', 'aborted', 'completed'];
const MEMBER_STATUSES = ['planned', 'offered', 'skipped', 'cancelled'];

async function insertMembers(tx: Tx, rolloutId: string, members: MemberInput[], now: number): Promise<number> {
  let added = 0;
  for (const m of members) {
    const status = m.status ?? 'planned';
    if (!MEMBER_STATUSES.includes(status) || status === 'offered') throw new OutpostError('E_STORE_BAD_VALUE', 'member status: planned | skipped | cancelled');
    if (!Number.isInteger(m.wave) || m.wave < 0) throw new OutpostError('E_STORE_BAD_VALUE', 'member wave: an integer >= 0');
    added += await tx.run(
      `INSERT INTO rollout_members (rollout_id, node_id, wave, status, deployment_id, reason, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?)
       ON CONFLICT (rollout_id, node_id) DO NOTHING`,
      [rolloutId, m.nodeId, m.wave, status, m.reason ?? null, now],
    );
  }
  return added;
}

async function readRollout(tx: Tx, id: string): Promise<RolloutRow | null> {
  const r = await tx.get(`SELECT ${COLS} FROM rollouts WHERE id = ?`, [id]);
  return r ? rolloutFromRow(r) : null;
}

export async function createRollout(db: Db, r: NewRollout, members: MemberInput[], now: number): Promise<RolloutRow> {
  return db.tx(async (tx) => {
    const added = await tx.run(
      `INSERT INTO rollouts (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', -1, NULL, NULL, ?, ?, ?, ?, 1) ON CONFLICT (id) DO NOTHING`,
      [r.id, r.name, JSON.stringify(r.bundle), JSON.stringify(r.target), JSON.stringify(r.waves), JSON.stringify(r.success),
        JSON.stringify(r.failure), JSON.stringify(r.offer), r.failureBaseline ?? 0, now, now, r.createdBy],
    );
    if (added === 0) throw new OutpostError('E_STORE_DUPLICATE_ROLLOUT', `rollout ${r.id} already exists`);
    await insertMembers(tx, r.id, members, now);
    return (await readRollout(tx, r.id))!;
  });
}

export const getRollout = (db: Db, id: string) => db.read((tx) => readRollout(tx, id));

export async function listRollouts(db: Db, filter: { status?: RolloutRow['status'] } = {}, page?: { limit?: number }) {
  const rows = await db.read((tx) => tx.all(
    `SELECT ${COLS} FROM rollouts${filter.status !== undefined ? ' WHERE status = ?' : ''} ORDER BY created_at DESC, id LIMIT ?`,
    [...(filter.status !== undefined ? [filter.status] : []), limitOf(page)],
  ));
  return rows.map(rolloutFromRow);
}

export async function updateRollout(db: Db, id: string, expectedVersion: number, p: RolloutPatch, now: number): Promise<RolloutRow | null> {
  if (p.status !== undefined && !STATUSES.includes(p.status)) throw new OutpostError('E_STORE_BAD_VALUE', `rollout status: ${STATUSES.join(' | ')}`);
  const sets: string[] = [];
  const params: Param[] = [];
  const set = (col: string, v: Param | undefined) => {
    if (v === undefined) return;
    sets.push(`${col} = ?`);
    params.push(v);
  };
  set('status', p.status);
  set('current_wave', p.currentWave);
  set('wave_started_at', p.waveStartedAt);
  set('paused_reason', p.pausedReason);
  set('name', p.name);
  set('failure_baseline', p.failureBaseline);
  return db.tx(async (tx) => {
    const n = await tx.run(
      `UPDATE rollouts SET ${[...sets, 'updated_at = ?', 'version = version + 1'].join(', ')} WHERE id = ? AND version = ?`,
      [...params, now, id, expectedVersion],
    );
    return n === 0 ? null : readRollout(tx, id);
  });
}

export const addRolloutMembers = (db: Db, rolloutId: string, members: MemberInput[], now: number) =>
  db.tx(async (tx) => {
    if (!(await readRollout(tx, rolloutId))) throw new OutpostError('E_STORE_UNKNOWN_ROLLOUT', `no rollout ${rolloutId}`);
    return insertMembers(tx, rolloutId, members, now);
  });

export async function listRolloutMembers(db: Db, rolloutId: string, f: { wave?: number; status?: MemberStatus } = {}, page?: Page) {
  const parts = ['rollout_id = ?'];
  const params: Param[] = [rolloutId];
  if (f.wave !== undefined) {
    parts.push('wave = ?');
    params.push(f.wave);
  }
  if (f.status !== undefined) {
    parts.push('status = ?');
    params.push(f.status);
  }
  const after = afterOf(page);
  if (after !== undefined) {
    parts.push('node_id > ?');
    params.push(after);
  }
  const rows = await db.read((tx) => tx.all(
    `SELECT rollout_id, node_id, wave, status, deployment_id, reason, updated_at FROM rollout_members WHERE ${parts.join(' AND ')} ORDER BY node_id LIMIT ?`,
    [...params, limitOf(page)],
  ));
  return rows.map(memberFromRow);
}

export async function rolloutProgress(db: Db, rolloutId: string): Promise<WaveProgress[]> {
  // One grouped scan: member status × deployment state/result, folded into per-wave counts.
  const rows = await db.read((tx) => tx.all(
    `SELECT m.wave AS wave, m.status AS ms, d.state AS state, d.result AS result, d.finished_at IS NULL AS open, COUNT(*) AS c
     FROM rollout_members m LEFT JOIN deployments d ON d.node_id = m.node_id AND d.deployment_id = m.deployment_id
     WHERE m.rollout_id = ? GROUP BY m.wave, m.status, d.state, d.result, d.finished_at IS NULL ORDER BY m.wave`,
    [rolloutId],
  ));
  const waves = new Map<number, WaveProgress>();
  for (const r of rows) {
    const wave = Number(r.wave);
    const c = Number(r.c);
    let w = waves.get(wave);
    if (!w) {
      w = { wave, members: 0, planned: 0, skipped: 0, cancelled: 0, offered: 0, inProgress: 0, waiting: 0, succeeded: 0, failed: 0, rolledBack: 0, rejected: 0 };
      waves.set(wave, w);
    }
    w.members += c;
    const ms = String(r.ms);
    if (ms === 'planned') w.planned += c;
    else if (ms === 'skipped') w.skipped += c;
    else if (ms === 'cancelled') w.cancelled += c;
    if (ms !== 'offered') continue;
    w.offered += c;
    const result = r.result === null || r.result === undefined ? null : String(r.result);
    const open = r.state !== null && r.state !== undefined && (r.open === true || Number(r.open) === 1);
    if (open) {
      w.inProgress += c;
      if (['offered', 'accepted', 'awaiting_install_window'].includes(String(r.state))) w.waiting += c;
    } else if (result === 'success') w.succeeded += c;
    else if (result === 'failure') w.failed += c;
    else if (result === 'rolled-back') w.rolledBack += c;
    else if (result === 'rejected') w.rejected += c;
    else if (result === 'cancelled') w.cancelled += c;
  }
  return [...waves.values()].sort((a, b) => a.wave - b.wave);
}
