// The composition root: builds the concrete parts from Config and hands them to each other.
// The hub link sees the rest of the agent only through agent/hub/ports.ts; the adapters from
// the update service and the inventory collector to those ports live here.
import { join } from 'node:path';
import type { Config } from './config/load.ts';
import { rootPath, stateDir } from './config/load.ts';
import { hubProxy } from './config/sections/hub.ts';
import { proxyEnvironment } from './config/sections/fetch.ts';
import type { Logger } from './log/logger.ts';
import { AgentError } from './lib/errors.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from './identity/device-identity.ts';
import { HubClient } from './hub/client.ts';
import { buildClientOptions } from './hub/transport.ts';
import { flattenInventory } from './hub/flatten.ts';
import type { Rebooter, ReportSource, UpdateEvent as HubUpdateEvent, UpdateService as HubUpdateService } from './hub/ports.ts';
import { createCollector } from './inventory/service.ts';
import { scheduleInventory } from './inventory/scheduler.ts';
import { createLocationService } from './location/factory.ts';
import { PendingLocationReport, toHubFix } from './location/pending-report.ts';
import type { LocationService } from './location/service.ts';
import { processRunner } from './platform/exec.ts';
import { commandRebooter } from './platform/rebooter.ts';
import { openUpdateApp } from './update-app.ts';
import type { UpdateService } from './update/service.ts';
import type { UpdateEvent } from './update/runner.ts';
import type { HealthCheck } from './update/ports.ts';
import { runInWindows } from './update/window-scheduler.ts';
import { createFetcher, type Fetcher } from './fetch/from-config.ts';
import { AGENT_VERSION } from './version.ts';

/** Parts a caller may supply instead of the defaults built from Config (tests, simulators). */
export interface AppParts {
  update?: HubUpdateService | null;
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

/**
 * Reports for the hub: the inventory collector's document minus its volatile part, flattened;
 * the location service's latest rate-limited report (moved/returned events always leave one).
 */
function reportSource(config: Config, location: LocationService): ReportSource {
  const collector = createCollector(config, { runner: processRunner });
  const pending = new PendingLocationReport(location);
  return {
    async inventory() {
      const { volatile: _volatile, ...facts } = await collector.collect();
      return flattenInventory(facts);
    },
    async location() {
      const r = pending.take();
      return r ? toHubFix(r) : null;
    },
  };
}

function hubEvent(e: UpdateEvent, service: UpdateService): HubUpdateEvent {
  const err = (x: { error: { code: string; message: string } | null }) => (x.error ? { code: x.error.code, message: x.error.message } : {});
  switch (e.type) {
    case 'state':
      return { type: 'state', deploymentId: e.id, state: e.state, ...err(e) };
    case 'progress':
      return { type: 'progress', deploymentId: e.id, phase: 'write', done: e.done, total: e.total };
    case 'outcome': {
      const result = e.outcome === 'committed' ? 'success' : e.outcome === 'rolled_back' ? 'rolled-back' : e.error?.code === 'E_CANCELLED' ? 'cancelled' : 'failure';
      return { type: 'outcome', deploymentId: e.id, result, ...err(e), log: service.deploymentLog(e.id).join('\n') };
    }
  }
}

/**
 * The update service behind the hub's port: an offer starts an HTTP deployment inside the
 * download windows and is acknowledged at once; a replayed offer (same deployment id) is
 * "duplicate" whether it is running, parked for a reboot or finished.
 */
function hubUpdateService(service: UpdateService, fetcher: Fetcher, signal: () => AbortSignal, log: Logger): HubUpdateService {
  let running: string | null = null;
  let current: { deploymentId: string; state: string } | null = null;
  service.subscribe((e) => {
    if (e.type === 'state') current = { deploymentId: e.id, state: e.state };
  });
  return {
    async offer(o) {
      if (o.install !== 'now') {
        return { result: 'rejected', code: 'E_OFFER_WINDOWS', message: 'install windows in offers are not supported yet; the node uses its configured download windows' };
      }
      if (running === o.deploymentId) return { result: 'duplicate' };
      if (running) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${running} is running` };
      const d = (await service.status()).deployment;
      if (d?.id === o.deploymentId) return { result: 'duplicate' };
      if (d && d.outcome === null) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${d.id} is ${d.state}` };
      running = o.deploymentId;
      const source = fetcher.sourceFor(o.bundle.url);
      void runInWindows(fetcher.gate, { stop: () => service.stop(), resume: () => service.resumeAfterBoot() }, () => service.start(source, { id: o.deploymentId }), signal(), log)
        .then((r) => log.info('deployment step finished', { deploymentId: o.deploymentId, result: r?.kind ?? null }))
        .catch((err) => log.error('deployment could not start', { deploymentId: o.deploymentId, err }))
        .finally(() => {
          running = null;
        });
      return { result: 'accepted' };
    },
    async cancel(deploymentId) {
      const d = (await service.status()).deployment;
      if (running !== deploymentId && !(d?.id === deploymentId && d.outcome === null)) return false;
      service.cancel();
      return true;
    },
    status: () => current,
    onEvent(listener) {
      return service.subscribe((e) => listener(hubEvent(e, service)));
    },
  };
}

export async function buildApp(config: Config, logger: Logger, parts: AppParts = {}): Promise<App> {
  const dir = stateDir(config);
  const identity = await loadOrCreateIdentity(join(dir, 'identity'), config.hub.deviceId);
  logger.info('device identity', { deviceId: identity.deviceId, fingerprint: identity.fingerprint });
  let hub: HubClient | null = null;
  let runSignal: AbortSignal = new AbortController().signal;

  // The update service, when this node has slots: HTTP bundles via the fetcher, "hub reachable"
  // among the post-boot health checks (late-bound: the hub client is built below).
  let updateService: UpdateService | null = null;
  let update: HubUpdateService | null = parts.update ?? null;
  if (parts.update === undefined && config.update.slots.length > 0) {
    const fetcher = await createFetcher(config.fetch, {
      resolvePath: (p) => rootPath(config, p), stateDir: dir, proxyEnv: proxyEnvironment(), logger: logger.child('fetch'), now: Date.now,
    });
    const hubReachable: HealthCheck = {
      name: 'hub-reachable',
      async check(signal) {
        if (!hub) return; // no hub configured: nothing to reach
        if (!(await hub.health(signal))) throw new AgentError('E_HUB_UNREACHABLE', 'the hub did not answer a ping after the update');
      },
    };
    const app = await openUpdateApp(config, {
      logger: logger.child('update'),
      extraHealthChecks: [hubReachable],
      sourceFor: (origin) => (/^https?:\/\//.test(origin) ? fetcher.sourceFor(origin) : null),
    });
    updateService = app.service;
    update = hubUpdateService(app.service, fetcher, () => runSignal, logger.child('update'));
  } else if (parts.update === undefined) logger.info('no update slots configured: hub offers will be refused');

  const location = parts.source === undefined ? createLocationService(config, { clock: { now: Date.now }, logger }) : null;
  const h = config.hub;
  if (h.url !== null) {
    const { proxy, noProxy } = hubProxy(h.proxy, new URL(h.url));
    const clientOptions = await buildClientOptions({
      url: h.url, caFile: h.caFile, certFile: h.certFile, keyFile: h.keyFile, proxy, noProxy, handshakeTimeoutMs: h.authTimeoutMs,
    });
    hub = await HubClient.open({
      url: h.url, clientOptions, identity, dir: join(dir, 'hub'), agentVersion: AGENT_VERSION,
      update,
      rebooter: parts.rebooter !== undefined
        ? parts.rebooter
        : commandRebooter({ command: config.update.rebootCommand, timeoutMs: config.update.rebootTimeoutMs, runner: processRunner }),
      source: location ? reportSource(config, location) : (parts.source ?? null),
      timings: h,
      log: logger,
    });
  } else logger.warn('hub.url is null: running without a hub link');

  return {
    identity,
    hub,
    async run(signal) {
      runSignal = signal;
      const aborted = new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
      // The hub run subscribes the reporter first, so resume events after a reboot are journaled.
      const link = hub ? hub.run(signal) : aborted;
      location?.start(signal).catch((err) => logger.error('location service failed', { err }));
      // Inventory checks follow the inventory section's cron schedule (random delay per node).
      if (hub && parts.source === undefined) {
        const reporter = hub.reporter;
        scheduleInventory({ request: async () => (await reporter.checkInventory(), null) }, {
          cron: config.inventory.schedule, maxRandomDelayMs: config.inventory.randomDelayS * 1000, logger, signal,
        });
      }
      if (updateService) {
        const svc = updateService;
        signal.addEventListener('abort', () => svc.stop(), { once: true });
        svc.resumeAfterBoot().then(
          (r) => r && logger.info('deployment resumed after start', { result: r.kind }),
          (err) => logger.error('resuming the deployment failed', { err }),
        );
      }
      await link;
    },
  };
}
