// What the update machine needs from the rest of the agent. app.ts / update-app.ts hand in
// concrete parts; this module names only their shapes.
import type { BootControl, Rebooter, SlotDevice, SlotName } from '../platform/types.ts';
import type { BundleVerifier, VerifiedHead } from '../bundle/types.ts';
import type { BundleSource } from '../bundle/source.ts';
import type { Logger } from '../log/logger.ts';
import type { WindowSpec } from '../window/window.ts';

export interface BootedSlot {
  booted(): Promise<SlotName | null>;
}

/** A post-boot check: resolves when healthy, throws (an OutpostError with a code) when not. */
export interface HealthCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<void>;
}

/** The anti-rollback floor; raised only when a deployment commits. */
export interface ReleaseFloorKeeper {
  raise(release: number): Promise<void>;
}

/** Install/reboot windows: when a written and verified slot may be armed and the node rebooted. */
export interface InstallWindows {
  /** Windows for this deployment (its offer's, else pushed, else configured); empty: any time. */
  forDeployment(id: string): Promise<readonly WindowSpec[]>;
  /** Resolves after `ms`, or earlier when the windows may have changed; rejects on abort. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

export interface UpdateDeps {
  /** Directory of the journal, head bytes, slot records and deployment logs. */
  readonly dir: string;
  readonly slots: readonly SlotDevice[];
  readonly bootControl: BootControl;
  readonly bootedSlot: BootedSlot;
  readonly rebooter: Rebooter;
  readonly verifier: BundleVerifier;
  /** A function when they can change at run time (hub-pushed checks replace the configured ones). */
  readonly healthChecks: readonly HealthCheck[] | (() => readonly HealthCheck[]);
  /** Absent: no install windows, arm as soon as the slot is verified (the CLI on site). */
  readonly installWindows?: InstallWindows;
  readonly releaseFloor: ReleaseFloorKeeper | null;
  /** Told about every bundle head that passed verification (the time floor takes its creation time). */
  readonly onVerifiedHead?: (head: VerifiedHead) => Promise<void> | void;
  /** Rebuilds the source of an interrupted deployment from its recorded origin (null: gone). */
  readonly sourceFor: (origin: string) => BundleSource | null;
  /** This boot's id (default: the kernel's boot_id); tells a power cut during commit from a same-boot restart. */
  readonly bootId?: () => Promise<string>;
  readonly tries: number;
  readonly checkpointBytes: number;
  /** Least seconds between two checkpoints (default 0: every checkpointBytes). */
  readonly checkpointSeconds?: number;
  readonly maxStateEntries: number;
  /** Pauses between tries of a state write the disk refuses (default STATE_WRITE_RETRY_MS, about 12 s). */
  readonly stateWriteRetryMs?: readonly number[];
  readonly deploymentLogBytes: number;
  readonly logger: Logger;
  readonly now: () => number;
}
