// outpost install FILE|URL | --resume [--config F]: a local or http(s) bundle through the same
// state machine the daemon uses. The operator is on site: "download now" (no download windows,
// no byte budget) and no install window. After arming, the configured reboot command runs; the
// next start continues with `outpost install --resume` (or the daemon's resume at start).
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EXIT, type CliIO } from './io.ts';
import { parse, printHelp, usageError } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE, rootPath, stateDir } from '../config/load.ts';
import { proxyEnvironment } from '../config/sections/fetch.ts';
import { createFetcher } from '../fetch/from-config.ts';
import { realSleep } from '../fetch/sleep.ts';
import { silentLogger } from '../log/logger.ts';
import { WindowPlan } from '../window/plan.ts';
import { openUpdateApp } from '../app/update-app.ts';
import { fileSource } from '../bundle/file-source.ts';
import type { RunResult, UpdateEvent } from '../update/runner.ts';
import { AgentError } from '../lib/errors.ts';

const HELP = `usage: outpost install FILE|URL [--config F]
       outpost install --resume [--config F]
Installs a signed bundle (a file, or an http:// or https:// URL streamed straight into the slot)
into the inactive slot, arms the bootloader and reboots. Downloads start now, whatever the
download windows; fetch.maxBytesPerSecond still applies.
--resume continues (or rolls back) the deployment found in the journal (a download continues
from its last verified block); run it after boot or after an interrupted install.
`;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, resume: { type: 'boolean' } });
  if (values.help) return printHelp(io, HELP);
  if (values.resume ? positionals.length !== 0 : positionals.length !== 1) {
    throw usageError(values.resume ? '--resume takes no bundle' : positionals.length === 0 ? 'missing bundle FILE or URL (or --resume)' : 'give exactly one bundle FILE or URL');
  }
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const dir = stateDir(config);
  const fetcher = await createFetcher(config.fetch, {
    resolvePath: (p) => rootPath(config, p), stateDir: dir, proxyEnv: proxyEnvironment(), logger: silentLogger(), now: Date.now,
  });
  // Recorded for this deployment, so a daemon that resumes it also downloads now and arms at once.
  const plan = new WindowPlan({
    dir: join(dir, 'update'), configured: { windows: config.fetch.windows, installWindows: config.fetch.installWindows }, gate: fetcher.gate, sleep: realSleep,
  });
  await plan.load();
  // --resume must work with a broken trust store or floor: a deployment past its download (on
  // trial, or reverting) needs no bundle policy, and a download still fails with the policy error.
  const { service } = await openUpdateApp(config, {
    sourceFor: (origin) => (isUrl(origin) ? fetcher.sourceFor(origin) : null),
    ...(values.resume ? { tolerateBadPolicy: true } : {}),
  });
  const show = progressPrinter(io);
  const unsubscribe = service.subscribe((e: UpdateEvent) => {
    if (e.type === 'progress') show.progress(e.done, e.total);
    else if (e.type === 'state') show.line(`state: ${e.state}${e.error ? ` (${e.error.code})` : ''}`);
  });
  // A signal stops the current step; the journal keeps the deployment for --resume.
  const stop = () => service.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let result: RunResult | null;
    if (values.resume) result = await service.resumeAfterBoot();
    else {
      const what = positionals[0]!;
      const id = `i-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
      const source = isUrl(what) ? fetcher.sourceFor(what) : fileSource(what);
      const busy = (await service.status()).deployment;
      if (!busy || busy.outcome !== null) await plan.setDeployment({ deploymentId: id, now: true, windows: null, installWindows: [] });
      result = await service.start(source, { id });
    }
    show.done();
    if (result?.kind === 'outcome') await plan.endDeployment(result.id);
    if (result?.kind === 'parked' && result.state === 'revert_pending') throw await revertPending(service, result.id);
    return report(io, result);
  } finally {
    unsubscribe();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The revert of a deployment could not finish: the error that stopped it, and what happens next. */
export async function revertPending(service: { status(): Promise<{ deployment: { error: { code: string; message: string } | null } | null }> }, id: string): Promise<AgentError> {
  const e = (await service.status()).deployment?.error;
  return new AgentError(e?.code ?? 'E_UPDATE_FAILED', `deployment ${id}: the revert could not finish (${e?.message ?? 'no detail'}); new deployments are refused until it does: it is retried at the next start, or run \`outpost rollback\``);
}

function report(io: CliIO, r: RunResult | null): number {
  if (r === null) {
    io.out.write('nothing to resume: no deployment in progress\n');
    return 0;
  }
  switch (r.kind) {
    case 'parked':
      io.out.write(`deployment ${r.id}: reboot requested (${r.state}); after boot run \`outpost install --resume\`\n`);
      return 0;
    case 'in_progress':
      io.out.write(`deployment ${r.id} is already in progress (${r.state})\n`);
      return 0;
    case 'stopped':
      io.err.write(`E_STOPPED: deployment ${r.id} stopped in ${r.state}; continue with \`outpost install --resume\`\n`);
      return EXIT.stopped;
    case 'outcome':
      if (r.outcome === 'committed') {
        io.out.write(`deployment ${r.id}: committed\n`);
        return 0;
      }
      throw new AgentError(r.error?.code ?? 'E_UPDATE_FAILED', `deployment ${r.id} ${r.outcome.replace('_', ' ')}: ${r.error?.message ?? 'no detail'}`);
  }
}

// Progress for humans: a redrawn bar on a terminal, a plain line per 10% otherwise (logs,
// serial consoles and CI keep readable output).
interface ProgressPrinter {
  progress(done: number, total: number): void;
  line(text: string): void;
  done(): void;
}

const MiB = 1 << 20;

function progressPrinter(io: CliIO): ProgressPrinter {
  let barShown = false;
  let lastTenth = -1;
  const endBar = () => {
    if (barShown) io.out.write('\n');
    barShown = false;
  };
  return {
    progress(done, total) {
      const frac = total === 0 ? 1 : done / total;
      const text = `${(done / MiB).toFixed(1)}/${(total / MiB).toFixed(1)} MiB`;
      if (io.isTTY) {
        const width = 30;
        const fill = Math.round(frac * width);
        io.out.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${text}`);
        barShown = true;
        return;
      }
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.out.write(`written ${tenth * 10}% ${text}\n`);
      }
    },
    line(text) {
      endBar();
      io.out.write(text + '\n');
    },
    done: endBar,
  };
}
