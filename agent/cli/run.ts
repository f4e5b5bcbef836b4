// `outpost run [--config FILE]`: the daemon. SIGTERM/SIGINT abort one AbortSignal that every
// long-lived part listens to, so shutdown closes the hub link and journals cleanly. Under
// systemd (Type=notify) it reports READY once started, pings the watchdog, says STOPPING.
import type { CliIO } from './io.ts';
import { parse, positionals, printHelp } from './args.ts';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.ts';
import { daemonEnvironment } from '../config/sections/hub.ts';
import { createLogger } from '../log/logger.ts';
import { createServiceNotifier, parseServiceEnv } from '../platform/service-notify.ts';
import { processRunner } from '../platform/exec.ts';
import { checkConfig } from '../config/checks.ts';
import { OutpostError } from '../../shared/errors.ts';
import { buildApp } from '../app/app.ts';

const USAGE = `usage: outpost run [--config FILE]

Runs the agent: the outbound hub link, reports and update commands. Stops cleanly on SIGTERM or SIGINT.
  --config FILE   provisioned config (default ${DEFAULT_CONFIG_FILE})
`;

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals: extra } = parse(args, { config: { type: 'string' } });
  if (values.help) return printHelp(io, USAGE);
  positionals(extra, 0, 0, 'arguments');
  const config = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE);
  // The same checks as `outpost config`: a config that cannot work stops here with its code,
  // before the daemon touches anything; the rest is logged and the daemon runs degraded.
  const problems = await checkConfig(config);
  const fatal = problems.filter((p) => p.severity === 'fatal');
  if (fatal.length > 0) {
    const more = fatal.length > 1 ? ` (and ${fatal.length - 1} more problem${fatal.length > 2 ? 's' : ''}: run \`outpost config\`)` : '';
    throw new OutpostError(fatal[0]!.code, `${fatal[0]!.message}${more}`);
  }
  const logger = createLogger({ level: config.core.logLevel });
  for (const p of problems) (p.severity === 'warning' ? logger.warn : logger.error).call(logger, `config: ${p.message}`, { code: p.code });
  const notifier = createServiceNotifier({ env: parseServiceEnv(daemonEnvironment(), process.pid), runner: processRunner, log: logger, pid: process.pid });
  const app = await buildApp(config, logger);
  const ac = new AbortController();
  const stop = (sig: string) => {
    logger.info('shutting down', { signal: sig });
    notifier.stopping().catch((err) => logger.warn('cannot notify systemd', { err }));
    ac.abort();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    const running = app.run(ac.signal);
    notifier.startWatchdog(ac.signal);
    await notifier.ready(`device ${app.identity.deviceId}`).catch((err) => logger.warn('cannot notify systemd', { err }));
    await running;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  logger.info('stopped');
  return 0;
}
