// Builds the update service's concrete parts from Config. agent/app/app.ts (the composition root)
// calls createUpdateApp(); the CLI commands install/status/commit/rollback call it too.
import { join } from 'node:path';
import type { Config } from '../config/load.ts';
import { rootPath, stateDir } from '../config/load.ts';
import type { BootControl, CommandRunner, SlotDevice } from '../platform/types.ts';
import type { BundleVerifier, VerifiedHead } from '../bundle/types.ts';
import type { ReleaseFloorKeeper, HealthCheck, InstallWindows } from '../update/ports.ts';
import type { HealthCheckConfig } from '../config/sections/update.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { createVerifier } from '../bundle/verifier.ts';
import { loadTrustStoreWithMark } from '../bundle/trust-mark.ts';
import type { TrustStore } from '../../shared/bundle/trust.ts';
import { readReleaseFloor, raiseReleaseFloor } from '../bundle/release-floor.ts';
import { openSlotDevice } from '../platform/slots/slot-device.ts';
import { bootedSlotDetector } from '../platform/booted-slot.ts';
import { commandRebooter } from '../platform/rebooter.ts';
import { processRunner } from '../platform/exec.ts';
import { openBootEnv, type BootEnvSpec } from '../platform/bootenv/open.ts';
import { AttemptCounterBootControl } from '../platform/bootcontrol/attempt-counter.ts';
import { commandHealthCheck } from '../update/health.ts';
import { fileSource } from '../bundle/file-source.ts';
import { createUpdateService, type UpdateService } from '../update/service.ts';
import { isOutpostError, OutpostError, wrapError } from '../../shared/errors.ts';

export interface UpdateAppOptions {
  logger: Logger;
  /** Bound to the node's trust store, floor and compatible strings. */
  verifier: BundleVerifier;
  releaseFloor: ReleaseFloorKeeper | null;
  /** Pluggable checks after a trial boot (e.g. "hub reachable"), run after the configured ones. */
  extraHealthChecks?: readonly HealthCheck[];
  /** Rebuilds non-file sources (HTTP) of an interrupted deployment from its origin. */
  sourceFor?: (origin: string) => import('../bundle/source.ts').BundleSource | null;
  runner?: CommandRunner;
  now?: () => number;
  /** Gates arming on install windows (the daemon); absent: arm at once (the CLI, on site). */
  installWindows?: InstallWindows;
  /** update.healthChecks with hub-pushed timeouts (agent/update/pushed-checks.ts); a push never adds or removes one. */
  pushedHealthChecks?: () => readonly HealthCheckConfig[] | null;
  /** Told about every verified bundle head (the daemon raises its time floor from it). */
  onVerifiedHead?: (head: VerifiedHead) => Promise<void> | void;
}

export interface UpdateApp {
  service: UpdateService;
  slots: readonly SlotDevice[];
  bootControl: BootControl;
}

export async function createUpdateApp(config: Config, opts: UpdateAppOptions): Promise<UpdateApp> {
  const u = config.update;
  if (u.slots.length === 0) throw new OutpostError('E_CONFIG', 'config update.slots: no slots configured');
  const runner = opts.runner ?? processRunner;
  const slots = u.slots.map((s) => openSlotDevice({ name: s.name, slotClass: s.class, path: rootPath(config, s.path) }));
  const env = await openBootEnv(bootEnvSpec(config));
  const bootControl = new AttemptCounterBootControl({ env, slots: u.slots.map((s) => s.name) });
  const service = createUpdateService({
    dir: join(stateDir(config), 'update'),
    slots,
    bootControl,
    bootedSlot: bootedSlotDetector({ source: u.bootedSlot.source, path: rootPath(config, u.bootedSlot.path), slots }),
    rebooter: commandRebooter({ command: u.rebootCommand, timeoutMs: u.rebootTimeoutMs, runner }),
    verifier: opts.verifier,
    // Read at each trial boot: a push between two deployments applies to the next one.
    healthChecks: () => [...(opts.pushedHealthChecks?.() ?? u.healthChecks).map((c) => commandHealthCheck(c, runner)), ...(opts.extraHealthChecks ?? [])],
    ...(opts.installWindows ? { installWindows: opts.installWindows } : {}),
    releaseFloor: opts.releaseFloor,
    ...(opts.onVerifiedHead ? { onVerifiedHead: opts.onVerifiedHead } : {}),
    // A local file origin is an absolute path; anything else is the fetcher's to rebuild.
    sourceFor: (origin) => (origin.startsWith('/') ? fileSource(origin) : (opts.sourceFor?.(origin) ?? null)),
    tries: u.tries,
    checkpointBytes: u.checkpointBytes,
    checkpointSeconds: u.checkpointSeconds,
    maxStateEntries: u.maxStateEntries,
    deploymentLogBytes: u.deploymentLogBytes,
    logger: opts.logger,
    now: opts.now ?? Date.now,
  });
  return { service, slots, bootControl };
}

function bootEnvSpec(config: Config): BootEnvSpec {
  const b = config.update.bootEnv;
  if (b.kind === 'grub') return { kind: 'grub', path: rootPath(config, b.path!) };
  if (b.kind === 'uboot') return { kind: 'uboot', configPath: rootPath(config, b.config!) };
  return { kind: 'fw-tool', configPath: rootPath(config, b.config!) };
}

export interface OpenUpdateAppOptions {
  logger?: Logger;
  extraHealthChecks?: readonly HealthCheck[];
  sourceFor?: UpdateAppOptions['sourceFor'];
  onVerifiedHead?: UpdateAppOptions['onVerifiedHead'];
  installWindows?: InstallWindows;
  pushedHealthChecks?: UpdateAppOptions['pushedHealthChecks'];
  now?: () => number;
  /**
   * The daemon: a trust store or floor file that does not load must not stop it (the hub link,
   * resume and revert still run); every bundle is refused with that error until it is fixed.
   * Absent (the CLI): the error is thrown at once.
   */
  tolerateBadPolicy?: boolean;
}

/** Whether bundles can be verified at all on this node. */
export interface BundlePolicyStatus {
  /**
   * null when the trust store and floor file load; else their error (E_TRUST_* / E_FLOOR_*).
   * While broken, every call reads them again, so an operator's fix applies without a restart.
   */
  problem(): Promise<OutpostError | null>;
}

interface Policy {
  trust: TrustStore;
  releaseFloor: number;
  compatible: readonly string[];
}

function asPolicyError(err: unknown): OutpostError {
  return isOutpostError(err) ? err : wrapError(err, 'E_TRUST_READ', 'bundle policy');
}

/** A verifier that refuses everything with the policy's error (nothing is trusted meanwhile). */
function refusingVerifier(err: OutpostError): BundleVerifier {
  const refuse = (): never => {
    throw err;
  };
  return { readBundle: async () => refuse(), readHead: async () => refuse(), verifyHeadBytes: refuse, readBlocks: async () => refuse() };
}

/**
 * The update app with its bundle policy from config: verifier bound to the trust store, floor
 * and compatible strings; the floor raised at commit. The CLI commands and app.ts use this.
 */
export async function openUpdateApp(config: Config, opts: OpenUpdateAppOptions = {}): Promise<UpdateApp & { policy: BundlePolicyStatus }> {
  const logger = opts.logger ?? silentLogger();
  const floorFile = rootPath(config, config.bundle.floorFile);
  let policy: Policy | null = null;
  let problem: OutpostError | null = null;
  let current: BundleVerifier;
  const load = async () => {
    try {
      // Checked against the highest trust version this node loaded: a deleted rotation file must
      // not bring older (maybe revoked) keys back.
      const trust = await loadTrustStoreWithMark(rootPath(config, config.bundle.trustStore), stateDir(config));
      policy = { trust, releaseFloor: await readReleaseFloor(floorFile), compatible: config.bundle.compatible };
      current = createVerifier(policy);
      if (problem) logger.info('bundle trust store and release floor usable again', { fixed: problem.code });
      problem = null;
    } catch (err) {
      if (!opts.tolerateBadPolicy) throw err;
      const first = problem === null;
      problem = asPolicyError(err);
      policy = null;
      current = refusingVerifier(problem);
      if (first) logger.error('bundle trust store or release floor unusable: every bundle is refused until it is fixed', { err: problem });
    }
  };
  await load();
  // A long-running daemon must refuse what a commit just made too old: rebind after each raise.
  const verifier: BundleVerifier = {
    readBundle: (...a) => current.readBundle(...a),
    readHead: (...a) => current.readHead(...a),
    verifyHeadBytes: (...a) => current.verifyHeadBytes(...a),
    readBlocks: (...a) => current.readBlocks(...a),
  };
  const releaseFloor: ReleaseFloorKeeper = {
    async raise(release) {
      const now = await raiseReleaseFloor(floorFile, release);
      if (policy) {
        policy = { ...policy, releaseFloor: now };
        current = createVerifier(policy);
      }
    },
  };
  const app = await createUpdateApp(config, { logger, verifier, releaseFloor, extraHealthChecks: opts.extraHealthChecks, sourceFor: opts.sourceFor,
    ...(opts.installWindows ? { installWindows: opts.installWindows } : {}),
    ...(opts.pushedHealthChecks ? { pushedHealthChecks: opts.pushedHealthChecks } : {}),
    ...(opts.onVerifiedHead ? { onVerifiedHead: opts.onVerifiedHead } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    ...app,
    policy: {
      async problem() {
        if (problem) await load();
        return problem;
      },
    },
  };
}
