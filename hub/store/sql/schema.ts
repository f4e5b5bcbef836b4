// The store's schema as numbered migrations, the same SQL for SQLite and PostgreSQL (TEXT,
// BIGINT, INTEGER, DOUBLE PRECISION only; JSON kept as TEXT; booleans as 0/1). Applied in one
// transaction each and recorded in schema_migrations; a database newer than this code is refused.
import { OutpostError } from '../../../shared/errors.ts';
import type { Db } from './db.ts';

const V1 = [
  `CREATE TABLE nodes (
    id TEXT PRIMARY KEY, public_key TEXT NOT NULL, device_id TEXT NOT NULL, status TEXT NOT NULL,
    name TEXT, grp TEXT, labels TEXT NOT NULL, compatible TEXT NOT NULL,
    site_id TEXT, site_name TEXT, region TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION, location TEXT,
    agent_version TEXT NOT NULL, run_version TEXT, run_release BIGINT, run_slot TEXT, release_floor BIGINT,
    health TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, connected_via TEXT,
    outbox_epoch TEXT, acked_seq BIGINT NOT NULL, reports BIGINT NOT NULL, inventory_hash TEXT)`,
  `CREATE INDEX nodes_status ON nodes (status, last_seen)`,
  `CREATE INDEX nodes_grp ON nodes (grp)`,
  `CREATE INDEX nodes_device ON nodes (device_id)`,
  `CREATE INDEX nodes_conn ON nodes (connected_via)`,
  `CREATE INDEX nodes_release ON nodes (run_release)`,
  // labels and compatible strings, one row each, so filters use an index (kind: label | compatible).
  `CREATE TABLE node_tags (node_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (node_id, kind, value))`,
  `CREATE INDEX node_tags_value ON node_tags (kind, value, node_id)`,
  `CREATE TABLE preauthorized (id TEXT PRIMARY KEY, added_at BIGINT NOT NULL)`,
  `CREATE TABLE inventories (
    node_id TEXT PRIMARY KEY, hash TEXT, data TEXT NOT NULL, nkeys INTEGER NOT NULL, nbytes INTEGER NOT NULL,
    truncated INTEGER NOT NULL, updated_at BIGINT NOT NULL)`,
  `CREATE TABLE locations (
    node_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL, alt_m DOUBLE PRECISION, accuracy_m DOUBLE PRECISION, source TEXT NOT NULL,
    fix_at BIGINT NOT NULL, moved INTEGER, PRIMARY KEY (node_id, seq))`,
  `CREATE INDEX locations_at ON locations (at)`,
  `CREATE TABLE report_log (
    node_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL, at BIGINT NOT NULL,
    received_at BIGINT NOT NULL, mode TEXT, PRIMARY KEY (node_id, seq))`,
  `CREATE INDEX report_log_received ON report_log (received_at)`,
  `CREATE TABLE deployments (
    node_id TEXT NOT NULL, deployment_id TEXT NOT NULL, rollout_id TEXT, bundle_id TEXT, state TEXT NOT NULL,
    progress TEXT, result TEXT, code TEXT, message TEXT, log TEXT, version TEXT,
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT,
    PRIMARY KEY (node_id, deployment_id))`,
  `CREATE INDEX deployments_rollout ON deployments (rollout_id)`,
  `CREATE INDEX deployments_node_created ON deployments (node_id, created_at)`,
  `CREATE INDEX deployments_finished ON deployments (finished_at)`,
  `CREATE TABLE commands (
    node_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, rollout_id TEXT,
    deployment_id TEXT, status TEXT NOT NULL, created_at BIGINT NOT NULL, ord BIGINT NOT NULL, ack TEXT, outcome TEXT,
    finished_at BIGINT, PRIMARY KEY (node_id, id))`,
  `CREATE INDEX commands_node_status ON commands (node_id, status, ord)`,
  `CREATE INDEX commands_rollout ON commands (rollout_id, status)`,
  `CREATE INDEX commands_finished ON commands (finished_at)`,
  `CREATE TABLE rollouts (
    id TEXT PRIMARY KEY, name TEXT, bundle TEXT NOT NULL, target TEXT NOT NULL, waves TEXT NOT NULL,
    success TEXT NOT NULL, failure TEXT NOT NULL, offer TEXT NOT NULL, status TEXT NOT NULL,
    current_wave INTEGER NOT NULL, wave_started_at BIGINT, paused_reason TEXT, failure_baseline INTEGER NOT NULL, created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL, created_by TEXT, version INTEGER NOT NULL)`,
  `CREATE INDEX rollouts_created ON rollouts (created_at)`,
  `CREATE TABLE rollout_members (
    rollout_id TEXT NOT NULL, node_id TEXT NOT NULL, wave INTEGER NOT NULL, status TEXT NOT NULL,
    deployment_id TEXT, reason TEXT, updated_at BIGINT NOT NULL, PRIMARY KEY (rollout_id, node_id))`,
  `CREATE INDEX rollout_members_wave ON rollout_members (rollout_id, wave, status)`,
  `CREATE TABLE bundles (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL, version TEXT NOT NULL, release BIGINT NOT NULL, compatible TEXT NOT NULL,
    added_at BIGINT NOT NULL)`,
  `CREATE TABLE tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
    created_at BIGINT NOT NULL, last_used_at BIGINT, revoked_at BIGINT)`,
  `CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE hubs (id TEXT PRIMARY KEY, url TEXT, last_beat BIGINT NOT NULL)`,
];

export const MIGRATIONS: readonly (readonly string[])[] = [V1];

export async function migrate(db: Db, now: number): Promise<void> {
  await db.tx(async (tx) => {
    if (db.dialect.migrationLock) await tx.get(db.dialect.migrationLock);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const row = await tx.get('SELECT MAX(version) AS v FROM schema_migrations');
    const have = Number(row?.v ?? 0);
    if (have > MIGRATIONS.length) {
      throw new OutpostError('E_STORE_SCHEMA_NEWER', `the store's schema is version ${have}; this hub knows up to ${MIGRATIONS.length} (upgrade the hub)`);
    }
    for (let v = have + 1; v <= MIGRATIONS.length; v++) {
      for (const sql of MIGRATIONS[v - 1]!) await tx.run(sql);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v, now]);
    }
  });
}
