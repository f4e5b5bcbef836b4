// The rows the hub store holds, as plain JSON-serialisable objects. Both implementations
// (SQLite, PostgreSQL) return exactly these shapes. Times are ms since the epoch.
import type { Command, Inventory, OutcomeResult } from '../../shared/protocol/index.ts';

/** A node's identity: lowercase hex sha256 of its raw ed25519 public key. Never its deviceId. */
export type NodeId = string;

export type NodeStatus = 'pending' | 'accepted' | 'rejected';

/**
 * Derived from the node's newest deployment on every write that touches it: `updating` — not
 * finished; `failing` — finished failure/rolled-back; `ok` — otherwise (none, success, cancelled,
 * rejected offer).
 */
export type NodeHealth = 'ok' | 'updating' | 'failing';

export interface Site {
  id?: string;
  name?: string;
}

export interface Running {
  version: string;
  release: number;
  slot: string;
}

export interface LastLocation {
  lat: number;
  lon: number;
  accuracyM?: number;
  source: string;
  fixAt: number;
  moved?: boolean;
}

export interface NodeRow {
  id: NodeId;
  /** base64 of the raw 32-byte ed25519 key (id = sha256 of these bytes). */
  publicKey: string;
  /** The name the node claims; not unique, never used to identify it. */
  deviceId: string;
  status: NodeStatus;
  /** Operator-given display name (null: show deviceId). */
  name: string | null;
  group: string | null;
  labels: string[];
  /** The node's bundle.compatible strings, as reported at auth. */
  compatible: string[];
  site: Site | null;
  /** Operator-assigned region name (targeting also works on `location` with a bbox). */
  region: string | null;
  location: LastLocation | null;
  agentVersion: string;
  running: Running | null;
  /** The node's anti-rollback floor: the hub never offers a lower release. */
  releaseFloor: number | null;
  health: NodeHealth;
  firstSeen: number;
  lastSeen: number;
  /** Hub process id holding its socket now (null: not connected). */
  connectedVia: string | null;
  /** The node's outbox epoch (opaque): a new epoch restarts the seq numbering. */
  outboxEpoch: string | null;
  /** Every report with seq <= ackedSeq is committed. */
  ackedSeq: number;
  reports: number;
  inventoryHash: string | null;
}

export interface InventoryRow {
  nodeId: NodeId;
  /** The hash the node reported for it (what its next diff names as base). */
  hash: string | null;
  data: Inventory;
  keys: number;
  bytes: number;
  /** True when the node sent more than the caps allow: `data` holds only a part of it. */
  truncated: boolean;
  updatedAt: number;
}

export interface LocationRow extends LastLocation {
  nodeId: NodeId;
  seq: number;
  at: number;
  altM?: number;
}

/** One line of the per-node report log (audit of order; no payload). */
export interface ReportLogRow {
  nodeId: NodeId;
  seq: number;
  type: string;
  at: number;
  receivedAt: number;
  /** inventory: full | diff | duplicate | wrong-base | truncated. */
  mode?: string;
}

/**
 * `state`: `offered` (command queued), `accepted` / `rejected` (the node's ack), then the agent's
 * own update.state names (informational), and at the end the outcome result or `cancelled`.
 */
export interface DeploymentRow {
  nodeId: NodeId;
  deploymentId: string;
  rolloutId: string | null;
  bundleId: string | null;
  state: string;
  progress: { phase: string; done: number; total: number } | null;
  /** Set once the node reported an outcome (or the offer was rejected / cancelled). */
  result: OutcomeResult | 'rejected' | null;
  code: string | null;
  message: string | null;
  log: string | null;
  /** Version the node reported with its outcome. */
  version: string | null;
  createdAt: number;
  updatedAt: number;
  /** When the node sent its first update.* report for it (null: not started, e.g. waiting for a window). */
  startedAt: number | null;
  finishedAt: number | null;
}

export type CommandStatus = 'pending' | 'acked' | 'cancelled';

export interface CommandRow {
  nodeId: NodeId;
  id: string;
  type: Command['type'];
  command: Command;
  rolloutId: string | null;
  deploymentId: string | null;
  status: CommandStatus;
  createdAt: number;
  /** The node's ack. */
  ack: { result: 'accepted' | 'duplicate' | 'rejected'; code?: string; message?: string; at: number } | null;
  /** A later command.result report for it. */
  outcome: { ok: boolean; code?: string; message?: string; at: number } | null;
}

/** What a rollout ships, read from the bundle's signed manifest (never typed by hand). */
export interface BundleIdentity {
  bundleId: string;
  manifestSha256: string;
  version: string;
  release: number;
  compatible: string[];
}

export interface BundleRow {
  id: string;
  /** File path the hub serves it from. */
  path: string;
  size: number;
  sha256: string;
  manifestSha256: string;
  version: string;
  release: number;
  compatible: string[];
  addedAt: number;
}

export interface WaveSpec {
  /** Exactly one of count / percent (of the target; the planner defines rounding). */
  count?: number;
  percent?: number;
}

/** Read by the rollout planner, which defines their exact semantics; the store only keeps them. */
export interface SuccessCriterion {
  /** Share of a wave's members that must commit healthy ... */
  minSuccessPercent: number;
  /** ... within this many seconds. */
  deadlineS: number;
}

export interface FailureThreshold {
  /** Pause when failed + rolled-back exceeds this count ... */
  maxFailures?: number;
  /** ... or this share of the members offered so far. */
  maxFailurePercent?: number;
}

export type RolloutStatus = 'running' | 'paused' | 'aborted' | 'completed';

export interface RolloutRow {
  id: string;
  name: string | null;
  bundle: BundleIdentity;
  /** Which nodes: a node filter (JSON), resolved into members by the planner. */
  target: NodeFilter;
  waves: WaveSpec[];
  success: SuccessCriterion;
  failure: FailureThreshold;
  /** Offer options (download now, windows), as JSON; the store does not read them. */
  offer: Record<string, unknown>;
  status: RolloutStatus;
  /** Index into `waves` of the wave in progress (-1: none started). */
  currentWave: number;
  waveStartedAt: number | null;
  pausedReason: string | null;
  /** Failures the operator accepted (at a resume): the threshold counts only those beyond it. */
  failureBaseline: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string | null;
  /** Optimistic-concurrency counter: every update names the version it read. */
  version: number;
}

export type MemberStatus = 'planned' | 'offered' | 'skipped' | 'cancelled';

export interface RolloutMemberRow {
  rolloutId: string;
  nodeId: NodeId;
  wave: number;
  status: MemberStatus;
  /** Set when offered; the deployment row carries the node's progress and outcome. */
  deploymentId: string | null;
  /** Why skipped (incompatible, below floor, ...). */
  reason: string | null;
  updatedAt: number;
}

/** Per-wave counts, members joined with their deployments. */
export interface WaveProgress {
  wave: number;
  members: number;
  planned: number;
  skipped: number;
  cancelled: number;
  offered: number;
  /** Offered and not finished (includes `waiting`). */
  inProgress: number;
  /** Of inProgress: no download started yet or waiting for an install window (state `offered`,
   * `accepted` or `awaiting_install_window`): a closed window, not a failure. */
  waiting: number;
  succeeded: number;
  failed: number;
  rolledBack: number;
  /** Offers the node refused (ack rejected). */
  rejected: number;
}

export interface TokenRow {
  id: string;
  name: string;
  /** Short non-secret prefix of the plaintext, for display (e.g. `opt_AbCd`). */
  hint: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A node filter; every given field must match (AND). JSON-serialisable (rollout targets use it). */
export interface NodeFilter {
  status?: NodeStatus;
  /** Full id or a prefix of at least 8 hex digits. */
  idPrefix?: string;
  deviceId?: string;
  group?: string;
  /** Node carries this label. */
  label?: string;
  /** Node reports this compatible string. */
  compatible?: string;
  siteId?: string;
  siteName?: string;
  region?: string;
  /** Last reported location inside this box. */
  bbox?: { minLat: number; maxLat: number; minLon: number; maxLon: number };
  version?: string;
  release?: number;
  /** Running release below this (nodes still to update). */
  releaseBelow?: number;
  health?: NodeHealth;
  connected?: boolean;
  lastSeenBefore?: number;
  lastSeenAfter?: number;
  /** Explicit node ids. */
  ids?: NodeId[];
}

export interface Page {
  /** Default 100, at most 1,000. */
  limit?: number;
  /** Cursor: the last id of the previous page (ordered by id). */
  after?: string;
}
