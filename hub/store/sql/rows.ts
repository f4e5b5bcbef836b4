// Database rows → the record shapes of records.ts. Numbers go through Number() because a driver
// may hand BIGINT/COUNT back as strings; JSON columns are TEXT.
import type { Row } from './db.ts';
import type {
  BundleRow, CommandRow, DeploymentRow, InventoryRow, LocationRow, NodeHealth, NodeRow, NodeStatus,
  ReportLogRow, RolloutMemberRow, RolloutRow, TokenRow,
} from '../records.ts';

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

export const NODE_COLUMNS = 'id, public_key, device_id, status, name, grp, labels, compatible, site_id, site_name, region, location, agent_version, run_version, run_release, run_slot, release_floor, health, first_seen, last_seen, connected_via, outbox_epoch, acked_seq, reports, inventory_hash';

export function nodeFromRow(r: Row): NodeRow {
  const siteId = str(r.site_id);
  const siteName = str(r.site_name);
  return {
    id: String(r.id),
    publicKey: String(r.public_key),
    deviceId: String(r.device_id),
    status: String(r.status) as NodeStatus,
    name: str(r.name),
    group: str(r.grp),
    labels: json(r.labels, []),
    compatible: json(r.compatible, []),
    site: siteId === null && siteName === null ? null : { ...(siteId !== null ? { id: siteId } : {}), ...(siteName !== null ? { name: siteName } : {}) },
    region: str(r.region),
    location: json(r.location, null),
    agentVersion: String(r.agent_version),
    running: r.run_version === null || r.run_version === undefined ? null : { version: String(r.run_version), release: num(r.run_release), slot: String(r.run_slot) },
    releaseFloor: optNum(r.release_floor),
    health: String(r.health) as NodeHealth,
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    connectedVia: str(r.connected_via),
    outboxEpoch: str(r.outbox_epoch),
    ackedSeq: num(r.acked_seq),
    reports: num(r.reports),
    inventoryHash: str(r.inventory_hash),
  };
}

export function inventoryFromRow(r: Row): InventoryRow {
  return {
    nodeId: String(r.node_id), hash: str(r.hash), data: json(r.data, {}), keys: num(r.nkeys), bytes: num(r.nbytes),
    truncated: num(r.truncated) === 1, updatedAt: num(r.updated_at),
  };
}

export function locationFromRow(r: Row): LocationRow {
  return {
    nodeId: String(r.node_id), seq: num(r.seq), at: num(r.at), lat: num(r.lat), lon: num(r.lon),
    ...(r.alt_m !== null && r.alt_m !== undefined ? { altM: num(r.alt_m) } : {}),
    ...(r.accuracy_m !== null && r.accuracy_m !== undefined ? { accuracyM: num(r.accuracy_m) } : {}),
    source: String(r.source), fixAt: num(r.fix_at),
    ...(r.moved !== null && r.moved !== undefined ? { moved: num(r.moved) === 1 } : {}),
  };
}

export function reportLogFromRow(r: Row): ReportLogRow {
  return {
    nodeId: String(r.node_id), seq: num(r.seq), type: String(r.type), at: num(r.at), receivedAt: num(r.received_at),
    ...(r.mode !== null && r.mode !== undefined ? { mode: String(r.mode) } : {}),
  };
}

export function deploymentFromRow(r: Row): DeploymentRow {
  return {
    nodeId: String(r.node_id), deploymentId: String(r.deployment_id), rolloutId: str(r.rollout_id), bundleId: str(r.bundle_id),
    state: String(r.state), progress: json(r.progress, null), result: str(r.result) as DeploymentRow['result'],
    code: str(r.code), message: str(r.message), log: str(r.log), version: str(r.version),
    createdAt: num(r.created_at), updatedAt: num(r.updated_at), startedAt: optNum(r.started_at), finishedAt: optNum(r.finished_at),
  };
}

export function commandFromRow(r: Row): CommandRow {
  return {
    nodeId: String(r.node_id), id: String(r.id), type: String(r.type) as CommandRow['type'], command: json(r.body, null)!,
    rolloutId: str(r.rollout_id), deploymentId: str(r.deployment_id), status: String(r.status) as CommandRow['status'],
    createdAt: num(r.created_at), ack: json(r.ack, null), outcome: json(r.outcome, null),
  };
}

export function rolloutFromRow(r: Row): RolloutRow {
  return {
    id: String(r.id), name: str(r.name), bundle: json(r.bundle, null)!, target: json(r.target, {}), waves: json(r.waves, []),
    success: json(r.success, null)!, failure: json(r.failure, {}), offer: json(r.offer, {}),
    status: String(r.status) as RolloutRow['status'], currentWave: num(r.current_wave), waveStartedAt: optNum(r.wave_started_at),
    pausedReason: str(r.paused_reason), failureBaseline: num(r.failure_baseline), createdAt: num(r.created_at), updatedAt: num(r.updated_at), createdBy: str(r.created_by),
    version: num(r.version),
  };
}

export function memberFromRow(r: Row): RolloutMemberRow {
  return {
    rolloutId: String(r.rollout_id), nodeId: String(r.node_id), wave: num(r.wave), status: String(r.status) as RolloutMemberRow['status'],
    deploymentId: str(r.deployment_id), reason: str(r.reason), updatedAt: num(r.updated_at),
  };
}

export function bundleFromRow(r: Row): BundleRow {
  return {
    id: String(r.id), path: String(r.path), size: num(r.size), sha256: String(r.sha256), manifestSha256: String(r.manifest_sha256),
    version: String(r.version), release: num(r.release), compatible: json(r.compatible, []), addedAt: num(r.added_at),
  };
}

export function tokenFromRow(r: Row): TokenRow {
  return {
    id: String(r.id), name: String(r.name), hint: String(r.hint), createdAt: num(r.created_at),
    lastUsedAt: optNum(r.last_used_at), revokedAt: optNum(r.revoked_at),
  };
}
