// Every message of protocol v1 as discriminated unions on `type`. Field limits live in limits.ts
// and are enforced by codec.ts; shared/PROTOCOL.md is the prose version of this file.

export type Scalar = string | number | boolean | null;
export type Inventory = Record<string, Scalar>;

/**
 * A window: it opens at every start of the 5-field cron expression `cron`, read on the wall clock
 * of the IANA zone `timezone`, and stays open for `durationMinutes` of real time. The same form as
 * the agent's config (fetch.windows / fetch.installWindows). `maxBytesPerSecond` caps downloads
 * while it is open (download windows only; absent or null: no cap from this window).
 */
export interface Window {
  cron: string;
  durationMinutes: number;
  timezone: string;
  maxBytesPerSecond?: number | null;
}

/**
 * Room for extension on any message: keys a receiver does not know are ignored (PROTOCOL.md §2).
 * No key is defined in protocol v1.
 */
export type Ext = Record<string, unknown>;

export interface Envelope<T extends string> {
  v: 1;
  type: T;
  /** Unique per sender; commands are acknowledged by this id. */
  id: string;
  ext?: Ext;
}

// ---- agent → hub ----------------------------------------------------------------------------

export interface Hello extends Envelope<'hello'> {
  deviceId: string;
  agentVersion: string;
  /** base64 of the raw 32-byte ed25519 public key. */
  publicKey: string;
  capabilities: string[];
  /** The node's bundle.compatible strings: a hub offers only bundles naming one of them. */
  compatible?: string[];
  /** The surveyed site (location.siteId / siteName), for targeting by site. */
  site?: { id?: string; name?: string };
  /** What the booted slot runs (from its installed bundle's manifest); absent: unknown. */
  running?: { version: string; release: number; slot: string };
}

export interface AuthResponse extends Envelope<'auth'> {
  /** base64 ed25519 signature over authMessage(nonce, deviceId, hubHost). */
  signature: string;
}

/** Fields every durable report carries: an agent-wide sequence number and when it happened. */
export interface ReportBase<T extends string> extends Envelope<T> {
  seq: number;
  at: number;
}

/** `sha256:` + 64 hex: hash of the canonical JSON of a flat inventory (see PROTOCOL.md). */
export type InventoryHash = string;

export interface InventoryFull extends ReportBase<'inventory'> {
  mode: 'full';
  /** Hash of `data` (optional only for agents that predate it). */
  hash?: InventoryHash;
  data: Inventory;
}
export interface InventoryDiff extends ReportBase<'inventory'> {
  mode: 'diff';
  /** Hash of the inventory this diff applies to; a hub holding another asks for a full one. */
  base?: InventoryHash;
  /** Hash after applying. */
  hash?: InventoryHash;
  set: Inventory;
  unset: string[];
}
export type InventoryReport = InventoryFull | InventoryDiff;

/** A location fix as reported to the hub. */
export interface LocationFix {
  lat: number;
  lon: number;
  altM?: number;
  accuracyM?: number;
  source: string;
  fixAt: number;
  /** True when the fix left the configured site radius. */
  moved?: boolean;
  /** Which site this node is provisioned at (absent: no site configured). */
  site?: SiteIdentity;
}

/** The surveyed site as provisioned (config section `location`); every field optional. */
export interface SiteIdentity {
  id?: string;
  name?: string;
  address?: string;
  lat?: number;
  lon?: number;
  altM?: number;
  accuracyM?: number;
  surveyedAt?: string;
  rack?: string;
  row?: string;
  unit?: string;
  radiusM?: number;
}

export interface LocationReport extends ReportBase<'location'>, LocationFix {}

/** How a deployment's bundle bytes arrive (all attempts): full or delta, planned and actual bytes. */
export interface TransferInfo {
  mode: 'full' | 'delta';
  fullBytes: number;
  plannedBytes: number;
  fetchedBytes: number;
  localBytes: number;
  requests: number;
}

export interface UpdateProgress extends ReportBase<'update.progress'> {
  deploymentId: string;
  phase: string;
  done: number;
  total: number;
  transfer?: TransferInfo;
}

export interface UpdateState extends ReportBase<'update.state'> {
  deploymentId: string;
  state: string;
  code?: string;
  message?: string;
}

export const OUTCOME_RESULTS = ['success', 'failure', 'rolled-back', 'cancelled'] as const;
export type OutcomeResult = (typeof OUTCOME_RESULTS)[number];
export interface UpdateOutcome extends ReportBase<'update.outcome'> {
  deploymentId: string;
  result: OutcomeResult;
  version?: string;
  code?: string;
  message?: string;
  /** Tail of the per-deployment log (JSON lines), at most LIMITS.log characters. */
  log: string;
}

export interface CommandResult extends ReportBase<'command.result'> {
  ref: string;
  ok: boolean;
  code?: string;
  message?: string;
}

export type Report = InventoryReport | LocationReport | UpdateProgress | UpdateState | UpdateOutcome | CommandResult;
export type ReportType = Report['type'];
export const REPORT_TYPES: readonly ReportType[] = [
  'inventory', 'location', 'update.progress', 'update.state', 'update.outcome', 'command.result',
];

export type AckResult = 'accepted' | 'duplicate' | 'rejected';
/** How a node answers an offer or command, before the wire fields; 'duplicate': already known, nothing new starts. */
export interface AckDecision<Code extends string = string> {
  result: AckResult;
  code?: Code;
  message?: string;
}
export interface CommandAck extends Envelope<'ack'> {
  ref: string;
  result: AckResult;
  code?: string;
  message?: string;
  /** With E_RATE_LIMITED: seconds until the command may be sent again. */
  retryAfterS?: number;
}

export interface ErrorMessage extends Envelope<'error'> {
  /** Id of the offending message when it had a readable one. */
  ref?: string;
  code: string;
  message: string;
}

export type AgentMessage = Hello | AuthResponse | Report | CommandAck | ErrorMessage;

// ---- hub → agent ----------------------------------------------------------------------------

export interface Challenge extends Envelope<'challenge'> {
  /** base64 of at least 32 random bytes, never reused. */
  nonce: string;
}

export type AuthResult =
  | (Envelope<'auth.result'> & {
      result: 'accepted'; ackedSeq: number; node: string;
      /** The hub's clock (ms since the epoch) when it accepted: raises the node's time floor. */
      hubTime?: number;
      /** Hash of the inventory the hub holds for this node (as of ackedSeq); absent: none. */
      inventoryHash?: InventoryHash;
    })
  | (Envelope<'auth.result'> & { result: 'pending'; retryAfterS: number; node: string })
  | (Envelope<'auth.result'> & { result: 'rejected'; code: string; message: string });

export interface ReportAck extends Envelope<'report.ack'> {
  /** Cumulative: every report with seq <= upTo is durably stored by the hub. */
  upTo: number;
}

export interface Offer extends Envelope<'offer'> {
  deploymentId: string;
  /** manifestSha256: sha256 of the signed manifest's bytes (BUNDLE-SPEC §4.1); the node refuses any other bundle. */
  bundle: { url: string; size: number; sha256?: string; manifestSha256?: string };
  version: string;
  release: string;
  /** Download now: ignore download windows and byte budget for this deployment. */
  now?: true;
  /** Download windows for this deployment, replacing the node's ones ([]: any time). */
  windows?: Window[];
  /** When arming and the reboot may happen, replacing the node's ones ([]: any time). */
  installWindows?: Window[];
}

export interface Cancel extends Envelope<'cancel'> {
  deploymentId: string;
}

export interface Reboot extends Envelope<'reboot'> {
  reason?: string;
}

export type InventoryRefresh = Envelope<'inventory.refresh'>;

/**
 * A health check a push selects by name: one provisioned on the node (its update.healthChecks) or
 * a built-in ("hub-reachable"). Never a command: the hub cannot make a node run anything new.
 * On the wire a bare name string is the same as `{name}`.
 */
export interface PushedHealthCheck {
  name: string;
  /** Overrides the provisioned check's timeout, 1..3,600 s (not for built-ins). */
  timeoutS?: number;
}

export interface PushedConfig {
  /** Download windows; replace the provisioned fetch.windows until the next push. */
  windows?: Window[];
  /** Install/reboot windows; replace the provisioned fetch.installWindows. */
  installWindows?: Window[];
  reportIntervals?: { inventoryS?: number; locationS?: number };
  /** Which provisioned checks run at the next trial boots (built-ins always run). */
  healthChecks?: PushedHealthCheck[];
}

export interface ConfigPush extends Envelope<'config.push'> {
  config: PushedConfig;
}

export interface BackoffHint extends Envelope<'backoff'> {
  /** Close and do not redial for this long (plus jitter). */
  retryAfterS: number;
}

export type Command = Offer | Cancel | Reboot | InventoryRefresh | ConfigPush;
export const COMMAND_TYPES: readonly Command['type'][] = ['offer', 'cancel', 'reboot', 'inventory.refresh', 'config.push'];

export type HubMessage = Challenge | AuthResult | ReportAck | Command | BackoffHint | ErrorMessage;

/** Distributes Omit over a union, so report bodies keep their discriminant. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A report before the outbox gives it an id and sequence number. */
export type ReportBody = DistributiveOmit<Report, 'v' | 'id' | 'seq'>;
