// What the hub session needs from the rest of the agent, as small interfaces. agent/app/app.ts
// hands in implementations (the update machine, inventory, location); the hub never imports them.
import type { AckDecision, Inventory, Offer, PushedConfig, LocationFix, TransferInfo } from '../../shared/protocol/messages.ts';

/** An update event the hub must hear about (a report on the wire); state and outcome are never dropped. */
export type UpdateReport =
  | { type: 'progress'; deploymentId: string; phase: string; done: number; total: number; transfer?: TransferInfo }
  | { type: 'state'; deploymentId: string; state: string; code?: string; message?: string }
  | {
      type: 'outcome';
      deploymentId: string;
      result: 'success' | 'failure' | 'rolled-back' | 'cancelled';
      version?: string;
      code?: string;
      message?: string;
      log: string;
    };

export type OfferDecision = AckDecision;

/** The update subsystem as the hub link drives it (agent/update/controller.ts fits it as it is). */
export interface UpdatePort {
  /** Must be idempotent by deploymentId: a replayed offer never starts a second deployment. */
  offer(offer: Offer): Promise<OfferDecision>;
  /** Cancels if that deployment is running and still cancellable; false otherwise. */
  cancel(deploymentId: string): Promise<boolean>;
  /** Current deployment, if any (for status output and hub hello). */
  status(): { deploymentId: string; state: string } | null;
  onEvent(listener: (e: UpdateReport) => void): () => void;
  /**
   * Throws (an OutpostError with a code) when this node cannot use a push: an unusable window, a
   * health check that is not provisioned. Called before the push is stored.
   */
  validate?(pushed: PushedConfig): void;
  /** Hub-pushed windows replace the provisioned ones; pushed health checks select provisioned ones. */
  configure?(pushed: PushedConfig): void;
}

export type { LocationFix } from '../../shared/protocol/messages.ts';

/** Snapshots for reports; null means "nothing to report now". */
export interface ReportSource {
  /** Flat key → scalar map (nested data flattened with dotted keys by the adapter). */
  inventory(signal: AbortSignal): Promise<Inventory | null>;
  location(signal: AbortSignal): Promise<LocationFix | null>;
}

export type { Rebooter } from '../platform/types.ts';

/** "The hub is reachable": authenticated and a ping answered within the deadline. */
export type ReachabilityCheck = (signal?: AbortSignal) => Promise<boolean>;
