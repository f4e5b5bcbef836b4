// The composition root: builds the concrete parts from Config and hands them to each other.
// The hub link sees the rest of the agent only through agent/hub/ports.ts.
import { join } from 'node:path';
import type { Config } from './config/load.ts';
import { stateDir } from './config/load.ts';
import { hubProxy } from './config/sections/hub.ts';
import type { Logger } from './log/logger.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from './identity/device-identity.ts';
import { HubClient } from './hub/client.ts';
import { buildClientOptions } from './hub/transport.ts';
import { flattenInventory } from './hub/flatten.ts';
import type { Rebooter, ReportSource, UpdateService } from './hub/ports.ts';
import { createCollector } from './inventory/service.ts';
import { processRunner } from './platform/exec.ts';
import { AGENT_VERSION } from './version.ts';

/** Parts a caller may supply instead of the defaults built from Config (tests, simulators). */
export interface AppParts {
  update?: UpdateService | null;
  source?: ReportSource | null;
  rebooter?: Rebooter | null;
}

export interface App {
  readonly identity: DeviceIdentity;
  /** null when config.hub.url is null. */
  readonly hub: HubClient | null;
  /** Runs every long-lived part until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** Inventory for hub reports: the collector's document minus the volatile part, flattened. */
function inventorySource(config: Config): ReportSource {
  const collector = createCollector(config, { runner: processRunner });
  return {
    async inventory() {
      const { volatile: _volatile, ...facts } = await collector.collect();
      return flattenInventory(facts);
    },
    async location() {
      return null;
    },
  };
}

export async function buildApp(config: Config, logger: Logger, parts: AppParts = {}): Promise<App> {
  const dir = stateDir(config);
  const identity = await loadOrCreateIdentity(join(dir, 'identity'), config.hub.deviceId);
  logger.info('device identity', { deviceId: identity.deviceId, fingerprint: identity.fingerprint });
  let hub: HubClient | null = null;
  const h = config.hub;
  if (h.url !== null) {
    const { proxy, noProxy } = hubProxy(h.proxy, new URL(h.url));
    const clientOptions = await buildClientOptions({
      url: h.url, caFile: h.caFile, certFile: h.certFile, keyFile: h.keyFile, proxy, noProxy, handshakeTimeoutMs: h.authTimeoutMs,
    });
    hub = await HubClient.open({
      url: h.url, clientOptions, identity, dir: join(dir, 'hub'), agentVersion: AGENT_VERSION,
      update: parts.update ?? null,
      rebooter: parts.rebooter ?? null,
      source: parts.source === undefined ? inventorySource(config) : parts.source,
      timings: h,
      log: logger,
    });
  } else logger.warn('hub.url is null: running without a hub link');
  return {
    identity,
    hub,
    async run(signal) {
      const aborted = new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
      await Promise.all([hub ? hub.run(signal) : aborted]);
    },
  };
}
