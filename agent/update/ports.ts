// What the update machine needs from the rest of the agent. app.ts / update-app.ts hand in
// concrete parts; this module names only their shapes.
import type { BootControl, Rebooter, SlotDevice, SlotName } from '../platform/types.ts';
import type { BundleVerifier } from '../bundle/types.ts';
import type { BundleSource } from './source.ts';
import type { Logger } from '../log/logger.ts';

export interface BootedSlot {
  booted(): Promise<SlotName | null>;
}

/** A post-boot check: resolves when healthy, throws (an AgentError with a code) when not. */
export interface HealthCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<void>;
}

/** The anti-rollback floor; raised only when a deployment commits. */
export interface FloorKeeper {
  raise(release: number): Promise<void>;
}

export interface UpdateDeps {
  /** Directory of the journal, head bytes, slot records and deployment logs. */
  readonly dir: string;
  readonly slots: readonly SlotDevice[];
  readonly bootControl: BootControl;
  readonly bootedSlot: BootedSlot;
  readonly rebooter: Rebooter;
  readonly verifier: BundleVerifier;
  readonly healthChecks: readonly HealthCheck[];
  readonly floor: FloorKeeper | null;
  /** Rebuilds the source of an interrupted deployment from its recorded origin (null: gone). */
  readonly sourceFor: (origin: string) => BundleSource | null;
  readonly tries: number;
  readonly checkpointBytes: number;
  readonly maxStateEntries: number;
  readonly deploymentLogBytes: number;
  readonly logger: Logger;
  readonly now: () => number;
}
