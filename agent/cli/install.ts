// outpost install FILE|URL | --resume [--config F]: a local or http(s) bundle through the same
// state machine the daemon uses. The operator is on site: "download now" (no download windows,
// no byte budget) and no install window. After arming, the configured reboot command runs; the
// next start continues with `outpost install --resume` (or the daemon's resume at start).
import { randomBytes } from 'node:crypto';
import { EXIT, type CliIO } from './io.ts';
import { progressPrinter } from './progress.ts';
import { fetchReporter } from './fetch-reporter.ts';
import { parse, printHelp, usageError } from './args.ts';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { silentLogger } from '../log/logger.ts';
import { buildUpdateStack } from '../app/update-stack.ts';
import { fileSource } from '../bundle/file-source.ts';
import type { RunResult, UpdateEvent } from '../update/runner.ts';
import type { InstallWindows } from '../update/ports.ts';
import { OutpostError } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

const HELP = `usage: outpost install FILE|URL [--expect-sha256 MANIFEST_SHA256] [--no-reboot] [--config FILE]
       outpost install --resume [--no-reboot] [--config FILE]
Installs a signed bundle (a file, or an http:// or https:// URL streamed straight into the slot)
into the inactive slot, arms the bootloader and reboots. Downloads start now, whatever the
download windows; fetch.maxBytesPerSecond still applies. A connection problem is reported at
once with the retry plan (fetch.retryMaxAttempts, fetch.giveUpAfterMinutes).
  --no-reboot     stage only: download, write and verify the slot, then stop before arming the
                  bootloader. The daemon (outpost run) arms and reboots in the node's next
                  install window (fetch.installWindows; none configured: at its next start);
                  \`outpost install --resume\` does it now.
  --expect-sha256 MANIFEST_SHA256
                  install only the bundle whose signed manifest has this sha256 (what
                  \`outpost bundle inspect\` and a hub's offer call manifestSha256); any other
                  bundle, however validly signed, is refused with E_OFFER_MISMATCH before a
                  block is written
  --resume        continue (or roll back) the deployment found in the journal (a download
                  continues from its last verified block); run it after boot, after an
                  interrupted install, or to finish a staged one
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, resume: { type: 'boolean' }, 'no-reboot': { type: 'boolean' }, 'expect-sha256': { type: 'string' } });
  if (values.help) return printHelp(io, HELP);
  const expect = values['expect-sha256'];
  if (expect !== undefined && (values.resume || !/^[0-9a-f]{64}$/.test(expect))) {
    throw usageError(values.resume ? '--expect-sha256 goes with a bundle, not --resume' : '--expect-sha256: expected 64 lowercase hex digits');
  }
  if (values.resume ? positionals.length !== 0 : positionals.length !== 1) {
    throw usageError(values.resume ? '--resume takes no bundle' : positionals.length === 0 ? 'missing bundle FILE or URL (or --resume)' : 'give exactly one bundle FILE or URL');
  }
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  const show = progressPrinter(io);
  const retryPlan = { maxAttempts: config.fetch.retryMaxAttempts, giveUpAfterMinutes: config.fetch.giveUpAfterMinutes };
  const stage = values['no-reboot'] === true;
  let staged = false;
  // The same stack the daemon builds; on site: downloads now, arms at once. --resume must work
  // with a broken trust store or floor: a deployment past its download (on trial, or reverting)
  // needs no bundle policy, and a download still fails with the policy error.
  const { app, fetcher, plan } = await buildUpdateStack(config, {
    mode: 'cli', logger: silentLogger(), fetchLogger: fetchReporter(io, retryPlan, show.interrupt),
    ...(values.resume ? { tolerateBadPolicy: true } : {}),
    // --no-reboot: the written, verified slot stops before arming (the journal keeps the
    // deployment in awaiting_install_window for the daemon or `install --resume`).
    ...(stage ? { installWindows: stageOnly(() => ((staged = true), service.stop())) } : {}),
  });
  const service = app.service;
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
      const plain = isUrl(what) ? fetcher.sourceFor(what) : fileSource(what);
      const source = expect ? { origin: plain.origin, deliver: plain.deliver.bind(plain), pin: { manifestSha256: expect } } : plain;
      const busy = (await service.status()).deployment;
      // Staged: the daemon arms in the node's own install windows; otherwise at once.
      if (!busy || busy.outcome !== null) await plan.setDeployment({ deploymentId: id, now: true, windows: null, installWindows: stage ? null : [] });
      result = await service.start(source, { id });
    }
    show.done();
    if (result?.kind === 'outcome') await plan.endDeployment(result.id);
    if (result?.kind === 'parked' && result.state === 'revert_pending') throw await revertPending(service, result.id);
    if (staged && result?.kind === 'stopped') {
      io.out.write(
        `deployment ${result.id}: staged (slot written and verified, not armed); the daemon arms it and reboots in the next install window, ` +
          'or run `outpost install --resume` to do it now\n',
      );
      return EXIT.ok;
    }
    return report(io, result);
  } finally {
    unsubscribe();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * Install "windows" that stop the run at the first look: the deployment stays in
 * awaiting_install_window. The window returned is closed now (it opens 12 hours from now), so
 * the handler waits, and the wait ends with the stop.
 */
function stageOnly(stop: () => void): InstallWindows {
  return {
    async forDeployment() {
      stop();
      const later = new Date(Date.now() + 12 * 3600_000);
      return [{ cron: `${later.getUTCMinutes()} ${later.getUTCHours()} * * *`, durationMinutes: 1, timezone: 'UTC', maxBytesPerSecond: null }];
    },
    wait: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
}

/** The revert of a deployment could not finish: the error that stopped it, and what happens next. */
export async function revertPending(service: { status(): Promise<{ deployment: { error: { code: ErrorCode; message: string } | null } | null }> }, id: string): Promise<OutpostError> {
  const e = (await service.status()).deployment?.error;
  return new OutpostError(e?.code ?? 'E_UPDATE_FAILED', `deployment ${id}: the revert could not finish (${e?.message ?? 'no detail'}); new deployments are refused until it does: it is retried at the next start, or run \`outpost rollback\``);
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
      throw new OutpostError(r.error?.code ?? 'E_UPDATE_FAILED', `deployment ${r.id} ${r.outcome.replace('_', ' ')}: ${r.error?.message ?? 'no detail'}`);
  }
}
