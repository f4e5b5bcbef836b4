// The composition root: builds the concrete parts from Config and hands them to each other.
// The hub link sees the rest of the agent only through agent/hub/ports.ts; the adapters from
// the update service and the inventory collector to those ports live here.
import { join } from 'node:path';
import type { Config } from '../config/load.ts';
import { rootPath, stateDir } from '../config/load.ts';
import { hubProxy } from '../config/sections/hub.ts';
import { proxyEnvironment } from '../config/sections/fetch.ts';
import type { Logger } from '../log/logger.ts';
import { AgentError, isAgentError } from '../lib/errors.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from '../identity/device-identity.ts';
import { HubClient } from '../hub/client.ts';
import { helloInfo } from '../hub/hello-info.ts';
import { buildClientOptions } from '../net/ws-transport.ts';
import { selectHealthChecks } from '../update/pushed-checks.ts';
import type { Rebooter, ReportSource, UpdateEvent as HubUpdateEvent, UpdateService as HubUpdateService } from '../hub/ports.ts';
import { createCollector, wireSource } from '../inventory/service.ts';
import { slotSummary } from '../inventory/slot-summary.ts';
import { TimeFloor } from '../time/floor.ts';
import { floorFromVerifiedHead } from '../time/verified-bundle.ts';
import { scheduleInventory } from '../inventory/scheduler.ts';
import { createLocationService } from '../location/factory.ts';
import { PendingLocationReport, toHubFix } from '../location/pending-report.ts';
import type { LocationService } from '../location/service.ts';
import { processRunner } from '../platform/exec.ts';
import { commandRebooter } from '../platform/rebooter.ts';
import { openUpdateApp, type BundlePolicyStatus } from './update-app.ts';
import type { UpdateService } from '../update/service.ts';
import type { RunResult, UpdateEvent } from '../update/runner.ts';
import { WindowPlan, checkWindows } from '../window/plan.ts';
import { realSleep } from '../fetch/sleep.ts';
import type { HealthCheckConfig } from '../config/sections/update.ts';
import type { PushedConfig } from '../../shared/protocol/messages.ts';
import type { HealthCheck } from '../update/ports.ts';
import { runInWindows } from '../window/scheduler.ts';
import { createFetcher, type Fetcher } from '../fetch/from-config.ts';
import { AGENT_VERSION } from '../version.ts';

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
function reportSource(config: Config, location: LocationService, floor: TimeFloor, slots: (() => Promise<unknown>) | null): ReportSource {
  const collector = createCollector(config, { runner: processRunner, floor, ...(slots ? { slots } : {}) });
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

/** Steps that use the network: only these are stopped when the download window closes. */
const DOWNLOADING: ReadonlySet<string> = new Set(['preparing', 'writing']);

interface HubUpdate extends HubUpdateService {
  /** At start: continues the journal's deployment, in the download windows while it downloads. */
  resume(signal: AbortSignal): Promise<void>;
}

/**
 * The update service behind the hub's port: an offer is checked, its windows persisted (window
 * plan), and an HTTP deployment started in the download windows; the ack goes out at once. A
 * replayed offer (same deployment id) is "duplicate" whether it is running, parked or finished.
 */
function hubUpdateService(
  service: UpdateService, fetcher: Fetcher, plan: WindowPlan, pushedChecks: { check(c: PushedConfig): void; set(c: PushedConfig): void },
  policy: BundlePolicyStatus, signal: () => AbortSignal, log: Logger,
): HubUpdate {
  let running: string | null = null;
  let current: { deploymentId: string; state: string } | null = null;
  service.subscribe((e) => {
    if (e.type === 'state') current = { deploymentId: e.id, state: e.state };
    if (e.type === 'outcome') plan.endDeployment(e.id).catch((err) => log.warn('cannot clear deployment windows', { err }));
  });
  const validate = (pushed: PushedConfig) => {
    if (pushed.windows) checkWindows(pushed.windows, 'windows');
    if (pushed.installWindows) checkWindows(pushed.installWindows, 'installWindows');
    pushedChecks.check(pushed);
  };
  const steppable = { stop: () => service.stop(), resume: () => service.resumeAfterBoot() };
  const downloading = () => current !== null && DOWNLOADING.has(current.state);
  // Outcomes the update service cannot report: an offer cancelled before its first step.
  const listeners = new Set<(e: HubUpdateEvent) => void>();
  let waiting: AbortController | null = null;
  const drive = (id: string, first: () => Promise<RunResult | null>, sig: AbortSignal) => {
    running = id;
    const cancel = new AbortController();
    waiting = cancel;
    return runInWindows(fetcher.gate, steppable, first, AbortSignal.any([sig, cancel.signal]), log, downloading)
      .then((r) => log.info('deployment step finished', { deploymentId: id, result: r?.kind ?? null }))
      .catch(async (err) => {
        const journaled = (await service.status()).deployment?.id === id;
        if (!cancel.signal.aborted && !journaled) {
          // It never started (e.g. E_UPDATE_BUSY: an on-site CLI holds the update lock). The offer
          // was acknowledged "accepted", so the hub must hear how it ended, or it waits forever.
          log.error('deployment could not start', { deploymentId: id, err });
          await plan.endDeployment(id).catch(() => {});
          const code = isAgentError(err) ? err.code : 'E_INTERNAL';
          const e: HubUpdateEvent = { type: 'outcome', deploymentId: id, result: 'failure', code, message: (err as Error).message, log: '' };
          for (const l of listeners) l(e);
          return;
        }
        if (!cancel.signal.aborted || journaled) return log.error('deployment step failed', { deploymentId: id, err });
        // Cancelled while waiting for a download window: nothing was journaled, so say it here.
        log.info('deployment cancelled before its download started', { deploymentId: id });
        await plan.endDeployment(id);
        const e: HubUpdateEvent = { type: 'outcome', deploymentId: id, result: 'cancelled', code: 'E_CANCELLED', message: 'cancelled before the download started', log: '' };
        for (const l of listeners) l(e);
      })
      .finally(() => {
        // Only our own: a later drive may have started meanwhile.
        if (running === id) running = null;
        if (waiting === cancel) waiting = null;
      });
  };
  return {
    async offer(o) {
      if (running === o.deploymentId) return { result: 'duplicate' };
      if (running) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${running} is running` };
      const d = (await service.status()).deployment;
      if (d?.id === o.deploymentId) return { result: 'duplicate' };
      if (d && d.outcome === null) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${d.id} is ${d.state}` };
      // A trust store or floor file that does not load refuses every bundle: the ack says why.
      const broken = await policy.problem();
      if (broken) {
        log.error('offer refused: bundle trust store or release floor unusable', { deploymentId: o.deploymentId, code: broken.code, message: broken.message });
        return { result: 'rejected', code: broken.code, message: broken.message };
      }
      try {
        // Validated with the window maths and on disk before the ack: a restart keeps honouring it.
        await plan.setDeployment({ deploymentId: o.deploymentId, now: o.now === true, windows: o.windows ?? null, installWindows: o.installWindows ?? null });
      } catch (err) {
        return { result: 'rejected', code: isAgentError(err) ? err.code : 'E_COMMAND_FAILED', message: (err as Error).message };
      }
      const source = fetcher.sourceFor(o.bundle.url);
      void drive(o.deploymentId, () => service.start(source, { id: o.deploymentId }), signal());
      return { result: 'accepted' };
    },
    async cancel(deploymentId) {
      const d = (await service.status()).deployment;
      if (running !== deploymentId && !(d?.id === deploymentId && d.outcome === null)) return false;
      service.cancel();
      if (running === deploymentId && d?.id !== deploymentId) waiting?.abort(new AgentError('E_CANCELLED', 'cancelled'));
      return true;
    },
    status: () => current,
    onEvent(listener) {
      listeners.add(listener);
      const off = service.subscribe((e) => {
        const h = hubEvent(e, service);
        if (h.type !== 'outcome') return listener(h);
        // The outcome names the version the node verified (the journal still holds it). Nothing
        // of this deployment follows its outcome, so the short wait cannot reorder its reports.
        void service.status()
          .then((s) => (s.deployment?.id === e.id && s.deployment.version ? { ...h, version: s.deployment.version } : h), () => h)
          .then(listener);
      });
      return () => (listeners.delete(listener), off());
    },
    validate,
    configure(pushed) {
      // Everything validated before anything changes: a refused push leaves everything as it was.
      validate(pushed);
      plan.setPushed({ ...(pushed.windows ? { windows: pushed.windows } : {}), ...(pushed.installWindows ? { installWindows: pushed.installWindows } : {}) });
      pushedChecks.set(pushed);
      log.info('hub-pushed settings applied', {
        windows: pushed.windows?.length ?? null, installWindows: pushed.installWindows?.length ?? null, healthChecks: pushed.healthChecks?.length ?? null,
      });
    },
    async resume(sig) {
      const d = (await service.status()).deployment;
      const own = plan.deployment;
      if (own && (d?.id !== own.deploymentId || d.outcome !== null)) await plan.endDeployment(own.deploymentId);
      if (d && d.outcome === null && DOWNLOADING.has(d.state)) {
        log.info('resuming the download in the download windows', { deploymentId: d.id, state: d.state });
        await drive(d.id, () => whenLockFree(() => service.resumeAfterBoot(), sig, log), sig);
        return;
      }
      const resuming = d && d.outcome === null ? d.id : null;
      if (resuming) running = resuming;
      try {
        const r = await whenLockFree(() => service.resumeAfterBoot(), sig, log);
        if (r) log.info('deployment resumed after start', { result: r.kind });
      } finally {
        // With nothing to resume, an offer accepted while resumeAfterBoot ran owns `running` now:
        // clearing it made its cancel answer E_CANCEL_TOO_LATE.
        if (resuming && running === resuming) running = null;
      }
    },
  };
}

/**
 * Runs `fn`, waiting while another process (a boot-time `outpost install --resume`, an operator's
 * CLI) holds the update lock: the daemon's own resume must not give up on a moment's overlap.
 */
async function whenLockFree<T>(fn: () => Promise<T>, sig: AbortSignal, log: Logger): Promise<T | null> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isAgentError(err, 'E_UPDATE_BUSY') || sig.aborted) throw err;
      log.warn('update lock held by another process; trying again in 5 s', { err });
      await realSleep(5_000, sig).catch(() => {});
      if (sig.aborted) return null;
    }
  }
}

/**
 * The hub-pushed health-check selection over the provisioned update.healthChecks (null: all of
 * them). A push names checks; it never brings a command of its own (agent/hub/pushed-checks.ts).
 */
function pushedHealthChecks(provisioned: readonly HealthCheckConfig[]) {
  let checks: readonly HealthCheckConfig[] | null = null;
  const select = (c: PushedConfig) => (c.healthChecks ? selectHealthChecks(provisioned, c.healthChecks) : null);
  return {
    get: () => checks,
    check: (c: PushedConfig): void => void select(c),
    set(c: PushedConfig) {
      checks = select(c);
    },
  };
}

// The hub module applies the persisted push while it opens; one this agent refuses (a bad cron or
// zone) must not keep the agent from starting: log it and keep the provisioned settings. After
// start, a refused push is thrown, so its ack carries the E_WINDOW_* code.
function startupTolerant(u: HubUpdateService, logger: Logger, started: () => boolean): HubUpdateService {
  return {
    ...u,
    configure(pushed) {
      try {
        u.configure?.(pushed);
      } catch (err) {
        if (started()) throw err;
        logger.error('stored hub-pushed settings refused; using the provisioned ones', { err });
      }
    },
  };
}

export async function buildApp(config: Config, logger: Logger, parts: AppParts = {}): Promise<App> {
  const dir = stateDir(config);
  // Trusted time: never below the newest signed bundle or authenticated hub time seen, so a node
  // without a real-time clock (booting in 1970) still opens its windows at the right time.
  const floor = await TimeFloor.open(dir, { logger: logger.child('time') });
  const identity = await loadOrCreateIdentity(join(dir, 'identity'), config.hub.deviceId);
  logger.info('device identity', { deviceId: identity.deviceId, fingerprint: identity.fingerprint });
  let hub: HubClient | null = null;
  let runSignal: AbortSignal = new AbortController().signal;

  // The update service, when this node has slots: HTTP bundles via the fetcher, "hub reachable"
  // among the post-boot health checks (late-bound: the hub client is built below).
  let updateService: HubUpdate | null = null;
  // Slots' versions, good/bad and the booted slot, for the inventory.
  let slotStatus: (() => Promise<unknown>) | null = null;
  let updateStop: (() => void) | null = null;
  let started = false;
  let update: HubUpdateService | null = parts.update ?? null;
  if (parts.update === undefined && config.update.slots.length > 0) {
    // One wall clock for download windows, budgets, install windows and journal times.
    const windowClock: () => number = floor.clock().now;
    const fetcher = await createFetcher(config.fetch, {
      resolvePath: (p) => rootPath(config, p), stateDir: dir, proxyEnv: proxyEnvironment(), logger: logger.child('fetch'), now: windowClock,
    });
    const hubReachable: HealthCheck = {
      name: 'hub-reachable',
      async check(signal) {
        if (!hub) return; // no hub configured: nothing to reach
        if (!(await hub.health(signal))) throw new AgentError('E_HUB_UNREACHABLE', 'the hub did not answer a ping after the update');
      },
    };
    const plan = new WindowPlan({
      dir: join(dir, 'update'), configured: { windows: config.fetch.windows, installWindows: config.fetch.installWindows },
      gate: fetcher.gate, sleep: realSleep, logger: logger.child('update'),
    });
    await plan.load();
    const pushedChecks = pushedHealthChecks(config.update.healthChecks);
    const app = await openUpdateApp(config, {
      logger: logger.child('update'),
      extraHealthChecks: [hubReachable],
      sourceFor: (origin) => (/^https?:\/\//.test(origin) ? fetcher.sourceFor(origin) : null),
      installWindows: plan,
      pushedHealthChecks: () => pushedChecks.get(),
      onVerifiedHead: floorFromVerifiedHead(floor, logger.child('time')),
      now: windowClock,
      // A bad trust store or floor file must not stop the daemon: hub link, resume and revert go on.
      tolerateBadPolicy: true,
    });
    updateStop = () => app.service.stop();
    slotStatus = async () => slotSummary(await app.service.status());
    updateService = hubUpdateService(app.service, fetcher, plan, pushedChecks, app.policy, () => runSignal, logger.child('update'));
    update = startupTolerant(updateService, logger, () => started);
  } else if (parts.update === undefined) logger.info('no update slots configured: hub offers will be refused');

  const location = parts.source === undefined ? createLocationService(config, { clock: floor.clock(), logger }) : null;
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
      source: location ? reportSource(config, location, floor, slotStatus) : (parts.source ?? null),
      timeFloor: floor,
      timings: h,
      log: logger,
      describe: helloInfo({ compatible: config.bundle.compatible, siteId: config.location.siteId, siteName: config.location.siteName, slots: slotStatus as (() => Promise<object>) | null }),
    });
    started = true;
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
      if (updateService && updateStop) {
        const stop = updateStop;
        signal.addEventListener('abort', () => stop(), { once: true });
        updateService.resume(signal).catch((err) => logger.error('resuming the deployment failed', { err }));
      }
      await link;
    },
  };
}
