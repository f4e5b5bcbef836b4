// The composition root: builds the concrete parts from Config and hands them to each other.
// The hub link sees the rest of the agent only through agent/hub/ports.ts: the update controller
// (agent/update/controller.ts, built with the update stack) fits its update port as it is; the
// adapter from the inventory collector and location service lives here.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/load.ts';
import { stateDir } from '../config/load.ts';
import { proxyEnvironment } from '../config/sections/fetch.ts';
import type { Logger } from '../log/logger.ts';
import { OutpostError } from '../../shared/errors.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from '../identity/device-identity.ts';
import { HubClient } from '../hub/client.ts';
import { helloInfo } from '../hub/hello-info.ts';
import { readPushedConfig } from '../hub/pushed-config.ts';
import { buildClientOptions } from '../net/ws-transport.ts';
import { routeFor } from '../net/proxy.ts';
import type { Rebooter, ReportSource, UpdatePort } from '../hub/ports.ts';
import { createCollector, wireSource } from '../inventory/service.ts';
import { slotSummary } from '../inventory/slot-summary.ts';
import { TimeFloor } from '../time/floor.ts';
import { timeFloorFromVerifiedHead } from '../time/verified-bundle.ts';
import { createLocationService } from '../location/factory.ts';
import { PendingLocationReport, toHubFix } from '../location/pending-report.ts';
import type { LocationService } from '../location/service.ts';
import { processRunner } from '../platform/exec.ts';
import { commandRebooter } from '../platform/rebooter.ts';
import type { HealthCheck } from '../update/ports.ts';
import type { UpdateController } from '../update/controller.ts';
import { buildUpdateStack } from './update-stack.ts';
import { AGENT_VERSION } from '../version.ts';

/** Parts a caller may supply instead of the defaults built from Config (tests, simulators). */
export interface AppParts {
  update?: UpdatePort | null;
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
function reportSource(config: Config, location: LocationService, timeFloor: TimeFloor, slots: (() => Promise<unknown>) | null): ReportSource {
  const collector = createCollector(config, { runner: processRunner, timeFloor, ...(slots ? { slots } : {}) });
  const inventory = wireSource(collector);
  const pending = new PendingLocationReport(location);
  return {
    inventory: () => inventory(),
    async location() {
      const r = pending.take();
      return r ? toHubFix(r) : null;
    },
  };
}

/** Longest wait for the hub link's first authentication before cron schedules are set up anyway. */
const FIRST_AUTH_WAIT_MS = 30_000;

/** Resolved once; wait() gives up after `ms` or on abort (never rejects). */
function latch(): { done(): void; wait(ms: number, signal: AbortSignal): Promise<void> } {
  let done!: () => void;
  const reached = new Promise<void>((r) => (done = r));
  return {
    done: () => done(),
    wait: (ms, signal) => Promise.race([reached, sleep(ms, undefined, { signal }).catch(() => {})]),
  };
}

export async function buildApp(config: Config, logger: Logger, parts: AppParts = {}): Promise<App> {
  const dir = stateDir(config);
  // Trusted time: never below the newest signed bundle or authenticated hub time seen, so a node
  // without a real-time clock (booting in 1970) still opens its windows at the right time.
  const timeFloor = await TimeFloor.open(dir, { logger: logger.child('time') });
  const identity = await loadOrCreateIdentity(join(dir, 'identity'), config.hub.deviceId);
  logger.info('device identity', { deviceId: identity.deviceId, fingerprint: identity.fingerprint });
  let hub: HubClient | null = null;
  const firstAuth = latch();

  // The update stack, when this node has slots: HTTP bundles via the fetcher, "hub reachable"
  // among the post-boot health checks (late-bound: the hub client is built below).
  let controller: UpdateController | null = null;
  // Slots' versions, good/bad and the booted slot, for the inventory.
  let slotStatus: (() => Promise<unknown>) | null = null;
  let updateStop: (() => void) | null = null;
  let update: UpdatePort | null = parts.update ?? null;
  if (parts.update === undefined && config.update.slots.length > 0) {
    const hubReachable: HealthCheck = {
      name: 'hub-reachable',
      async check(signal) {
        if (!hub) return; // no hub configured: nothing to reach
        if (!(await hub.health(signal))) throw new OutpostError('E_HUB_UNREACHABLE', 'the hub did not answer a ping after the update');
      },
    };
    const stack = await buildUpdateStack(config, {
      mode: 'daemon',
      logger,
      // One wall clock for download windows, budgets, install windows and journal times.
      now: timeFloor.clock().now,
      extraHealthChecks: [hubReachable],
      onVerifiedHead: timeFloorFromVerifiedHead(timeFloor, logger.child('time')),
      storedPush: () => readPushedConfig(join(dir, 'hub'), logger.child('hub')),
      // A bad trust store or floor file must not stop the daemon: hub link, resume and revert go on.
      tolerateBadPolicy: true,
    });
    const service = stack.app.service;
    updateStop = () => service.stop();
    slotStatus = async () => slotSummary(await service.status());
    controller = stack.controller;
    await controller.open();
    update = controller;
  } else if (parts.update === undefined) logger.info('no update slots configured: hub offers will be refused');

  const location = parts.source === undefined ? createLocationService(config, { clock: timeFloor.clock(), logger }) : null;
  const h = config.hub;
  if (h.url !== null) {
    // The same route decision as downloads (agent/net/proxy.ts).
    if (h.url.startsWith('ws://')) {
      // Accepted for tests and labs, never silently: on ws:// anyone on the path reads and steers the link.
      logger.error('INSECURE: hub.url uses ws:// (no TLS): anyone on the network path can read this node\'s reports and send it commands; use wss://', { url: h.url });
    }
    const proxy = routeFor(new URL(h.url), { proxy: h.proxy, noProxy: null }, proxyEnvironment());
    const clientOptions = await buildClientOptions({
      url: h.url, caFile: h.caFile, publicCas: h.trustPublicCAs, certFile: h.certFile, keyFile: h.keyFile, proxy, handshakeTimeoutMs: h.authTimeoutMs,
    });
    hub = await HubClient.open({
      url: h.url, clientOptions, identity, dir: join(dir, 'hub'), agentVersion: AGENT_VERSION,
      onStatus: (s) => s === 'authenticated' && firstAuth.done(),
      update,
      rebooter: parts.rebooter !== undefined
        ? parts.rebooter
        : commandRebooter({ command: config.update.rebootCommand, timeoutMs: config.update.rebootTimeoutMs, runner: processRunner }),
      source: location ? reportSource(config, location, timeFloor, slotStatus) : (parts.source ?? null),
      timeFloor,
      timings: h,
      log: logger,
      describe: helloInfo({ compatible: config.bundle.compatible, siteId: config.location.siteId, siteName: config.location.siteName, slots: slotStatus as (() => Promise<object>) | null }),
    });
  } else logger.warn('hub.url is null: running without a hub link');

  return {
    identity,
    hub,
    async run(signal) {
      // Without a hub link nothing else keeps the event loop alive: a timer does, until shutdown
      // (otherwise the daemon exits with "unsettled top-level await" and does no local work).
      const aborted = new Promise<void>((r) => {
        if (signal.aborted) return r();
        const keepAlive = setInterval(() => {}, 1 << 30);
        signal.addEventListener('abort', () => (clearInterval(keepAlive), r()), { once: true });
      });
      // The hub run subscribes the reporter first, so resume events after a reboot are journaled.
      const link = hub ? hub.run(signal) : aborted;
      // GNSS (gpsd) starts once the link is up too: its reports only go to the hub, and its socket
      // and first fix handling need not compete with the handshake.
      const startLocation = () => location?.start(signal).catch((err) => logger.error('location service failed', { err }));
      if (hub) void firstAuth.wait(FIRST_AUTH_WAIT_MS, signal).then(() => void (signal.aborted || startLocation()));
      else startLocation();
      // Inventory checks follow the inventory section's cron schedule (random delay per node).
      if (hub && parts.source === undefined) {
        const reporter = hub.reporter;
        // Set up once the link is up (or has had its chance): computing the next cron match takes
        // the event loop for a noticeable time, which must not delay the first authentication; the
        // first inventory goes out on connect anyway.
        // node-cron itself is loaded only then (a dynamic import), not with the daemon's code.
        void firstAuth.wait(FIRST_AUTH_WAIT_MS, signal).then(async () => {
          if (signal.aborted) return;
          const { scheduleInventory } = await import('../inventory/scheduler.ts');
          if (signal.aborted) return;
          scheduleInventory({ request: async () => (await reporter.checkInventory(), null) }, {
            cron: config.inventory.schedule, maxRandomDelayMs: config.inventory.randomDelayS * 1000, logger, signal,
          });
        });
      }
      if (controller && updateStop) {
        const stop = updateStop;
        signal.addEventListener('abort', () => stop(), { once: true });
        controller.resume(signal).catch((err) => logger.error('resuming the deployment failed', { err }));
      }
      await link;
      // A floor write started at the last authentication finishes before the daemon says "stopped".
      await timeFloor.settled();
    },
  };
}
