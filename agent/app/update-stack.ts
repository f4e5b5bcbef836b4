// The update stack, built in one place for the daemon (`outpost run`) and the on-site CLI
// (`outpost install`): fetcher (download gate, HTTP sources), window plan, update service with its
// bundle policy, and the controller the hub link talks to.
import { join } from 'node:path';
import type { Config } from '../config/load.ts';
import { rootPath, stateDir } from '../config/load.ts';
import { proxyEnvironment } from '../config/sections/fetch.ts';
import type { PushedConfig } from '../../shared/protocol/messages.ts';
import type { Logger } from '../log/logger.ts';
import type { VerifiedHead } from '../bundle/types.ts';
import { createFetcher, type Fetcher } from '../fetch/from-config.ts';
import { realSleep } from '../fetch/sleep.ts';
import { WindowPlan } from '../window/plan.ts';
import type { HealthCheck, InstallWindows } from '../update/ports.ts';
import type { HealthCheckConfig } from '../config/sections/update.ts';
import { PushedHealthChecks } from '../update/pushed-checks.ts';
import { UpdateController } from '../update/controller.ts';
import { openUpdateApp, type BundlePolicyStatus, type UpdateApp } from './update-app.ts';

export interface UpdateStackOptions {
  readonly logger: Logger;
  /**
   * 'daemon': download and install windows, hub-pushed settings, a bad trust store or floor
   * tolerated (the hub link and revert go on). 'cli': the operator is on site, downloads now
   * and arms at once; `tolerateBadPolicy` only for `--resume`.
   */
  readonly mode: 'daemon' | 'cli';
  readonly tolerateBadPolicy?: boolean;
  /** Wall clock for windows, budgets and journal times (the daemon's trusted time floor). */
  readonly now?: () => number;
  /** Checks after a trial boot beyond the configured ones (the daemon's "hub reachable"). */
  readonly extraHealthChecks?: readonly HealthCheck[];
  readonly onVerifiedHead?: (head: VerifiedHead) => Promise<void> | void;
  /** Where download problems are logged (the CLI prints them for the operator); default `logger`. */
  readonly fetchLogger?: Logger;
  /** Replaces the window plan's install windows (the CLI's `--no-reboot` stops before arming). */
  readonly installWindows?: InstallWindows;
  /** The hub link's stored push, applied by the controller when it opens. */
  readonly storedPush?: () => Promise<PushedConfig | null>;
}

export interface UpdateStack {
  readonly app: UpdateApp;
  readonly policy: BundlePolicyStatus;
  readonly fetcher: Fetcher;
  readonly plan: WindowPlan;
  readonly controller: UpdateController;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export async function buildUpdateStack(config: Config, o: UpdateStackOptions): Promise<UpdateStack> {
  const dir = stateDir(config);
  const now = o.now ?? Date.now;
  const daemon = o.mode === 'daemon';
  const fetcher = await createFetcher(config.fetch, {
    resolvePath: (p) => rootPath(config, p), stateDir: dir, proxyEnv: proxyEnvironment(), logger: o.fetchLogger ?? o.logger.child('fetch'), now,
  });
  const log = o.logger.child('update');
  const plan = new WindowPlan({
    dir: join(dir, 'update'), configured: { windows: config.fetch.windows, installWindows: config.fetch.installWindows },
    gate: fetcher.gate, sleep: realSleep, ...(daemon ? { logger: log } : {}),
  });
  await plan.load();
  const checks = new PushedHealthChecks<HealthCheckConfig>(config.update.healthChecks);
  const app = await openUpdateApp(config, {
    logger: log,
    sourceFor: (origin) => (isUrl(origin) ? fetcher.sourceFor(origin) : null),
    now,
    ...(o.extraHealthChecks ? { extraHealthChecks: o.extraHealthChecks } : {}),
    ...(o.onVerifiedHead ? { onVerifiedHead: o.onVerifiedHead } : {}),
    // The CLI arms at once: the operator is there.
    ...(daemon ? { installWindows: plan, pushedHealthChecks: () => checks.current() } : {}),
    ...(o.installWindows ? { installWindows: o.installWindows } : {}),
    ...(o.tolerateBadPolicy ? { tolerateBadPolicy: true } : {}),
  });
  const controller = new UpdateController({
    service: app.service, sourceFor: (url) => fetcher.sourceFor(url), gate: fetcher.gate, plan, policy: app.policy, healthChecks: checks,
    ...(o.storedPush ? { storedPush: o.storedPush } : {}), sleep: realSleep, log,
  });
  return { app, policy: app.policy, fetcher, plan, controller };
}
