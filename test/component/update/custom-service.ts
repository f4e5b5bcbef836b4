// The update service of a TestNode built by hand (as update-app.ts does) so a test can put real
// parts behind a fault: a BootEnv that fails one write with E_BOOTENV_VERIFY, a reboot that
// fails or never happens, another boot id. Everything else is the node's real files.
import { join } from 'node:path';
import type { BootEnv, Rebooter } from '../../../agent/platform/types.ts';
import type { HealthCheck, InstallWindows } from '../../../agent/update/ports.ts';
import { loadConfig, rootPath } from '../../../agent/config/load.ts';
import { GrubEnv } from '../../../agent/platform/bootenv/grub-env.ts';
import { AttemptCounterBootControl } from '../../../agent/platform/bootcontrol/attempt-counter.ts';
import { openSlotDevice } from '../../../agent/platform/slots/slot-device.ts';
import { bootedSlotDetector } from '../../../agent/platform/booted-slot.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { readReleaseFloor } from '../../../agent/bundle/release-floor.ts';
import { createUpdateService, type UpdateService } from '../../../agent/update/service.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { simulateBoot } from '../../support/boot-simulator.ts';
import type { TestNode } from '../../support/test-node.ts';

export interface Faults {
  /** Wraps the node's real GRUB env. */
  env?: (real: BootEnv) => BootEnv;
  /** Default: the boot simulator, in process. */
  rebooter?: (simulated: Rebooter) => Rebooter;
  healthChecks?: readonly HealthCheck[];
  installWindows?: InstallWindows;
  bootId?: () => Promise<string>;
  maxStateEntries?: number;
  now?: () => number;
  stateWriteRetryMs?: readonly number[];
}

export async function faultyService(node: TestNode, f: Faults = {}): Promise<UpdateService> {
  const config = await loadConfig(node.configPath);
  const slots = config.update.slots.map((s) => openSlotDevice({ name: s.name, slotClass: s.class, path: rootPath(config, s.path) }));
  const real = new GrubEnv({ path: node.envPath });
  const simulated: Rebooter = { reboot: async () => void (await simulateBoot(real, { bootedSlotFile: node.bootedFile })) };
  const b = config.bundle;
  return createUpdateService({
    dir: join(node.stateDir, 'update'),
    slots,
    bootControl: new AttemptCounterBootControl({ env: f.env ? f.env(real) : real, slots: ['A', 'B'] }),
    bootedSlot: bootedSlotDetector({ source: 'file', path: node.bootedFile, slots }),
    rebooter: f.rebooter ? f.rebooter(simulated) : simulated,
    verifier: createVerifier({ trust: await loadTrustStore(rootPath(config, b.trustStore)), releaseFloor: await readReleaseFloor(rootPath(config, b.floorFile)), compatible: b.compatible }),
    healthChecks: f.healthChecks ?? [],
    ...(f.installWindows ? { installWindows: f.installWindows } : {}),
    releaseFloor: null,
    sourceFor: (origin) => (origin.startsWith('/') ? fileSource(origin) : null),
    ...(f.bootId ? { bootId: f.bootId } : {}),
    tries: config.update.tries,
    checkpointBytes: config.update.checkpointBytes,
    maxStateEntries: f.maxStateEntries ?? config.update.maxStateEntries,
    ...(f.stateWriteRetryMs ? { stateWriteRetryMs: f.stateWriteRetryMs } : {}),
    deploymentLogBytes: config.update.deploymentLogBytes,
    logger: silentLogger(),
    now: f.now ?? Date.now,
  });
}

/** A BootEnv whose writes fail with E_BOOTENV_VERIFY while `failNext` > 0 and `when` matches. */
export class FlakyEnv implements BootEnv {
  failNext = 0;
  failures = 0;
  readonly #env: BootEnv;
  readonly #when: (changes: Record<string, string | null>) => boolean;
  constructor(env: BootEnv, when: (changes: Record<string, string | null>) => boolean = () => true) {
    this.#env = env;
    this.#when = when;
  }
  read() {
    return this.#env.read();
  }
  async update(changes: Record<string, string | null>) {
    if (this.failNext > 0 && this.#when(changes)) {
      this.failNext--;
      this.failures++;
      throw new OutpostError('E_BOOTENV_VERIFY', 'boot env read back differs from what was written (injected)');
    }
    return this.#env.update(changes);
  }
}

export const failingCheck: HealthCheck = {
  name: 'always-fails',
  async check() {
    throw new OutpostError('E_HEALTH_CHECK', 'the service did not come up (test)');
  },
};

/** Starting boot env of a node that was never committed: the documented default. */
export const BLANK_ENV = { BOOT_ORDER: 'A B' } as const;
