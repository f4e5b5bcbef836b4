// The hub store: everything the hub keeps, behind one async interface with two implementations
// (SQLite through node:sqlite, the default; PostgreSQL through `pg`, for several hub processes).
// Each method is ONE transaction: it either happened entirely or not at all. Row types live in
// records.ts, caps in limits.ts. Open one with `openStore()` from open.ts.
import type { Command, Report, AckResult } from '../../shared/protocol/index.ts';
import type {
  BundleRow, CommandRow, DeploymentRow, InventoryRow, LocationRow, NodeFilter, NodeId, NodeRow,
  Page, ReportLogRow, RolloutMemberRow, RolloutRow, Running, Site, TokenRow, WaveProgress,
  MemberStatus,
} from './records.ts';
import type { StoreLimits } from './limits.ts';

export type * from './records.ts';
export type { StoreLimits } from './limits.ts';

export interface StoreConfig {
  /** `sqlite:<file>` (or a bare path; `:memory:` for tests) or `postgres://…` / `postgresql://…`. */
  url: string;
  limits?: Partial<StoreLimits>;
}

// ---- nodes ------------------------------------------------------------------------------------

export interface AdmitInput {
  id: NodeId;
  publicKey: string;
  deviceId: string;
  agentVersion: string;
  compatible: string[];
  site?: Site;
  running?: Running;
  releaseFloor?: number;
  /** A different non-null epoch than the stored one resets ackedSeq to 0. */
  outboxEpoch?: string;
  /** Accept a new key without an operator step (demo); preauthorised keys are accepted anyway. */
  autoAccept: boolean;
  now: number;
}

export type AdmitResult =
  | { node: NodeRow; created: boolean }
  /** A new unknown key while `pendingMax` enrolments wait: nothing was stored. */
  | { refused: 'pending-full' };

export type NodePatch = Partial<Pick<NodeRow, 'status' | 'name' | 'group' | 'labels' | 'region'>>;

export type CountBy = 'status' | 'release' | 'version' | 'health' | 'group' | 'siteId' | 'connected';

export interface NodeStore {
  /**
   * At auth (signature already verified): creates the node (pending, or accepted when
   * preauthorised / autoAccept) or refreshes what it reports (deviceId, agentVersion, compatible,
   * site when given, running, floor, lastSeen). Never changes an existing node's status, except pending →
   * accepted when its key was preauthorised meanwhile.
   */
  admitNode(input: AdmitInput): Promise<AdmitResult>;
  getNode(id: NodeId): Promise<NodeRow | null>;
  /** By full id, id prefix (>= 8 hex digits), deviceId or name; exact id wins. */
  findNodes(ref: string): Promise<NodeRow[]>;
  /** Ordered by id; `total` counts every match, not just this page. */
  listNodes(filter?: NodeFilter, page?: Page): Promise<{ nodes: NodeRow[]; total: number; next: string | null }>;
  /** Number of matching nodes per value of `by` (null key: no value). */
  countNodes(filter: NodeFilter, by: CountBy): Promise<Array<{ key: string | number | boolean | null; count: number }>>;
  /** Operator edits (accept/reject, name, group, labels, region); null when unknown. */
  updateNode(id: NodeId, patch: NodePatch): Promise<NodeRow | null>;
  /** Forgets a node and all it reported. */
  deleteNode(id: NodeId): Promise<boolean>;
  /** Node's socket is now held by `hubId` (also sets lastSeen). */
  setConnected(id: NodeId, hubId: string, now: number): Promise<void>;
  /** Clears connectedVia only if `hubId` still holds it (a newer link elsewhere wins). */
  setDisconnected(id: NodeId, hubId: string, now: number): Promise<void>;
  /** At a hub process start/stop: every node it held is no longer connected. Returns how many. */
  releaseConnections(hubId: string): Promise<number>;
  /** A hub process says it is alive (call every few seconds; upsert). */
  hubAlive(hubId: string, info: { url?: string }, now: number): Promise<void>;
  /** Forgets hub processes silent since `staleBefore` and releases their connections. */
  reapHubs(staleBefore: number): Promise<string[]>;
  listHubs(): Promise<Array<{ id: string; url: string | null; lastBeat: number; nodes: number }>>;
  /** Fingerprints accepted at first contact; pending nodes with them are accepted now. */
  preauthorize(ids: NodeId[], now: number): Promise<number>;
  unpreauthorize(id: NodeId): Promise<boolean>;
  listPreauthorized(): Promise<NodeId[]>;
  /** Preauthorised keys that never connected yet: nodes expected to dial (admission sizes by them). */
  countUnseenPreauthorized(): Promise<number>;
}

// ---- reports ----------------------------------------------------------------------------------

export interface AppendResult {
  /** The node's watermark after commit: acknowledge `upTo: ackedSeq`, never earlier. */
  ackedSeq: number;
  /** Reports of this batch applied now (seq > previous ackedSeq), in seq order. */
  applied: ReportLogRow[];
  /** An inventory diff named another base or hashed differently: ask for a full inventory. */
  inventoryRefresh: boolean;
  /** Deployment rows this batch changed (for the rollout driver). */
  deployments: DeploymentRow[];
  /** Command rows a command.result of this batch completed. */
  commands: CommandRow[];
}

export interface ReportStore {
  /**
   * Applies reports in seq order in ONE transaction: skips seq <= ackedSeq (replays), applies
   * inventory full/diff (diff only on its base and to its hash; capped in keys/bytes), location
   * (last + history), update.* (deployment rows), command.result (command rows), logs each
   * report, bumps ackedSeq/reports/lastSeen, enforces the per-node count bounds. Resolves only
   * after commit. Throws OutpostError E_STORE_UNKNOWN_NODE for a node that is not accepted.
   */
  appendReports(nodeId: NodeId, reports: readonly Report[], now: number): Promise<AppendResult>;
  getInventory(nodeId: NodeId): Promise<InventoryRow | null>;
  getInventoryHash(nodeId: NodeId): Promise<string | null>;
  /** Newest first. */
  locationHistory(nodeId: NodeId, opts?: { limit?: number; since?: number }): Promise<LocationRow[]>;
  /** Newest first. */
  reportLog(nodeId: NodeId, opts?: { limit?: number }): Promise<ReportLogRow[]>;
  /** Age bound for every history, plus expiry of pending/rejected enrolments. In batches. */
  pruneHistory(now: number): Promise<PruneResult>;
}

export interface PruneResult {
  reportLog: number;
  locations: number;
  deployments: number;
  commands: number;
  pendingNodes: number;
  rejectedNodes: number;
}

// ---- commands and deployments -----------------------------------------------------------------

export interface CommandStore {
  /**
   * Stores a command as pending for the node, then (after commit) notifies BUS_COMMAND with
   * `{ nodeId, id }` so whichever hub process holds the node's socket sends it. An `offer` also
   * creates its deployment row (state `offered`); with `rolloutId` it marks the member offered —
   * and returns null (storing nothing) when that member is not `planned` any more (another hub
   * process offered it, or the rollout cancelled it).
   */
  enqueueCommand(nodeId: NodeId, command: Command, opts: { rolloutId?: string; bundleId?: string; now: number }): Promise<CommandRow | null>;
  /**
   * Pending commands, oldest first: (re)sent on every connection. Offers of a rollout that is
   * `paused` or `aborted` are held back (returned again once it runs; an abort cancels them);
   * a `completed` rollout's offers still reach nodes that were offline during their wave.
   */
  outstandingCommands(nodeId: NodeId): Promise<CommandRow[]>;
  getCommand(nodeId: NodeId, id: string): Promise<CommandRow | null>;
  /**
   * Records the node's ack (pending → acked). For an offer: deployment `accepted`, or `rejected`
   * (finished). Returns the row (status `cancelled` when it was cancelled meanwhile: the caller
   * sends the node a cancel), or null for an unknown ref.
   */
  ackCommand(nodeId: NodeId, ref: string, ack: { result: AckResult; code?: string; message?: string }, now: number): Promise<CommandRow | null>;
  /**
   * Cancels what was not started: pending commands (matching rollout / node / deployment) become
   * `cancelled`, their offers' deployments finish as `cancelled`, and a rollout's `planned`
   * members become `cancelled`. Returns the cancelled command rows.
   */
  cancelPending(scope: { rolloutId?: string; nodeId?: NodeId; deploymentId?: string }, now: number): Promise<CommandRow[]>;
  /** Newest first. */
  listCommands(scope: { nodeId?: NodeId; rolloutId?: string; status?: CommandRow['status'] }, page?: { limit?: number }): Promise<CommandRow[]>;
  getDeployment(nodeId: NodeId, deploymentId: string): Promise<DeploymentRow | null>;
  /**
   * Newest first; with `rolloutId` ordered by node id instead, paged with `after` (the last node
   * id of the previous page). `limit` default 100, at most 100,000 here (a whole rollout at once).
   */
  listDeployments(scope: { nodeId?: NodeId; rolloutId?: string; unfinished?: boolean }, page?: Page): Promise<DeploymentRow[]>;
}

// ---- rollouts ---------------------------------------------------------------------------------

export type NewRollout = Omit<RolloutRow, 'status' | 'currentWave' | 'waveStartedAt' | 'pausedReason' | 'failureBaseline' | 'createdAt' | 'updatedAt' | 'version'> & {
  /** Default 0. */
  failureBaseline?: number;
};

export type RolloutPatch = Partial<Pick<RolloutRow, 'status' | 'currentWave' | 'waveStartedAt' | 'pausedReason' | 'failureBaseline' | 'name'>>;

export interface MemberInput {
  nodeId: NodeId;
  wave: number;
  /** Default `planned`; `skipped` with a reason for nodes the planner excluded. */
  status?: MemberStatus;
  reason?: string;
}

export interface RolloutStore {
  /** Creates the rollout (status running, currentWave -1, version 1) and its members at once. */
  createRollout(r: NewRollout, members: MemberInput[], now: number): Promise<RolloutRow>;
  getRollout(id: string): Promise<RolloutRow | null>;
  /** Newest first. */
  listRollouts(filter?: { status?: RolloutRow['status'] }, page?: { limit?: number }): Promise<RolloutRow[]>;
  /**
   * Applies `patch` only if the row is still at `expectedVersion`; bumps version. Returns the new
   * row, or null when another process changed it first (re-read and decide again).
   */
  updateRollout(id: string, expectedVersion: number, patch: RolloutPatch, now: number): Promise<RolloutRow | null>;
  /** Adds members (existing (rollout, node) pairs are left as they are). Returns how many were added. */
  addRolloutMembers(rolloutId: string, members: MemberInput[], now: number): Promise<number>;
  /** Ordered by node id. */
  listRolloutMembers(rolloutId: string, filter?: { wave?: number; status?: MemberStatus }, page?: Page): Promise<RolloutMemberRow[]>;
  /** Members joined with their deployments, counted per wave (every wave with members). */
  rolloutProgress(rolloutId: string): Promise<WaveProgress[]>;
}

// ---- bundles and operator tokens --------------------------------------------------------------

export interface BundleStore {
  /** Inserts or replaces by id. */
  putBundle(b: BundleRow): Promise<void>;
  getBundle(id: string): Promise<BundleRow | null>;
  listBundles(): Promise<BundleRow[]>;
  deleteBundle(id: string): Promise<boolean>;
}

export interface TokenStore {
  /** Returns the plaintext ONCE (only its sha256 is stored). */
  createToken(name: string, now: number): Promise<{ token: string; row: TokenRow }>;
  /** The live (not revoked) token this plaintext is, or null; records lastUsedAt. */
  verifyToken(token: string, now: number): Promise<TokenRow | null>;
  listTokens(): Promise<TokenRow[]>;
  revokeToken(id: string, now: number): Promise<boolean>;
  /**
   * A random 32-byte secret (hex) shared by every hub process on this database, made on first
   * use (e.g. the key of per-node bundle download tokens).
   */
  secret(name: string): Promise<string>;
}

// ---- bus --------------------------------------------------------------------------------------

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** Channel of enqueueCommand's notifications: payload `{ nodeId, id }`. */
export const BUS_COMMAND = 'outpost_command';

export interface Bus {
  /**
   * Publishes to every subscriber of `channel` on every store instance sharing this database,
   * this one included. Channel: /^[a-z][a-z0-9_]{0,62}$/; payload JSON at most 7,900 bytes.
   * Best effort (a subscriber that was disconnected misses it): durable state is in the tables.
   */
  notify(channel: string, payload: JsonValue): Promise<void>;
  /** Resolves once listening; returns the unsubscribe function. */
  subscribe(channel: string, handler: (payload: JsonValue) => void): Promise<() => Promise<void>>;
}

export interface HubStore extends NodeStore, ReportStore, CommandStore, RolloutStore, BundleStore, TokenStore, Bus {
  readonly dialect: 'sqlite' | 'postgres';
  readonly limits: StoreLimits;
  close(): Promise<void>;
}

