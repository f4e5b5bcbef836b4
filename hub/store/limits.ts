// Caps and retention of the hub store (documented in docs/hub.md, "Store"). Every number here
// bounds what one node, or one unauthenticated client, can make the hub keep.

export interface StoreLimits {
  /** Inventory keys kept per node; beyond it the inventory is stored truncated. */
  inventoryMaxKeys: number;
  /** Inventory bytes (JSON) kept per node. */
  inventoryMaxBytes: number;
  /** Report-log lines kept per node (count bound) ... */
  reportLogPerNode: number;
  /** Location fixes kept per node. */
  locationsPerNode: number;
  /** Deployments kept per node (finished ones beyond it are dropped, oldest first). */
  deploymentsPerNode: number;
  /** Acknowledged or cancelled commands kept per node. */
  finishedCommandsPerNode: number;
  /** ... and nothing in those histories older than this. */
  historyMaxAgeMs: number;
  /** Pending enrolments kept at once; a new unknown key beyond it is refused. */
  pendingMax: number;
  /** A pending enrolment not seen again for this long is deleted. */
  pendingTtlMs: number;
  /** Rejected nodes are forgotten after this long without a connection attempt. */
  rejectedTtlMs: number;
}

const DAY = 24 * 60 * 60 * 1000;

export const DEFAULT_LIMITS: StoreLimits = {
  inventoryMaxKeys: 2_000,
  inventoryMaxBytes: 256 * 1024,
  reportLogPerNode: 1_000,
  locationsPerNode: 500,
  deploymentsPerNode: 50,
  finishedCommandsPerNode: 200,
  historyMaxAgeMs: 30 * DAY,
  pendingMax: 1_000,
  pendingTtlMs: 7 * DAY,
  rejectedTtlMs: 30 * DAY,
};
