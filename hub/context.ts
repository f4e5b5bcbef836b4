// What the hub's parts share: the store, this process's id and local links, the bundle service
// and a few hooks. Built once by hub/app.ts (the composition root) and handed to the agent link,
// the operator API routes and the rollout driver.
import type { Logger } from '../agent/log/logger.ts';
import type { AppendResult, CommandRow, HubStore, NodeId } from './store/types.ts';
import type { LinkRegistry } from './link/registry.ts';
import type { BundleService } from './bundles/service.ts';

export interface LinkPolicy {
  /** Accept every new key without an operator step (demo only). */
  acceptAll: boolean;
  /** retryAfterS told to a pending node. */
  pendingRetryS: number;
  /** hello → auth must finish within this. */
  handshakeTimeoutMs: number;
  /** Reports a node may have stored per second (sustained), and its burst. */
  reportRatePerS: number;
  reportBurst: number;
}

export interface HubHooks {
  /** After a node's reports were committed (rollout progress reads deployments from here). */
  reportsApplied: Array<(nodeId: NodeId, r: AppendResult) => void>;
  /** After a node acknowledged a command. */
  commandAcked: Array<(nodeId: NodeId, row: CommandRow) => void>;
}

export interface HubContext {
  store: HubStore;
  /** This process's id in the store (connectedVia). */
  hubId: string;
  log: Logger;
  links: LinkRegistry;
  bundles: BundleService;
  policy: LinkPolicy;
  hooks: HubHooks;
  now: () => number;
}
