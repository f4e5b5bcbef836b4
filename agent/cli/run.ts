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
  const logger = createLogger({ level: config.core.logLevel });
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
