// A minimal agent process for the kill/resume test: the real update service with the real HTTP
// source, built from a node's config. `start URL` begins a deployment; `resume` continues the
// journal's one (rebuilding the HTTP source from its recorded origin). Progress goes to stdout
// so the parent can kill us mid-download.
import { loadConfig, rootPath, stateDir } from '../../../agent/config/load.ts';
import { proxyEnvironment } from '../../../agent/config/sections/fetch.ts';
import { createUpdateApp } from '../../../agent/app/update-app.ts';
import { createFetcher } from '../../../agent/fetch/from-config.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { readReleaseFloor } from '../../../agent/bundle/release-floor.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { runInWindows } from '../../../agent/window/scheduler.ts';

const [configPath, mode, url] = process.argv.slice(2) as [string, 'start' | 'resume', string | undefined];
const config = await loadConfig(configPath);
const logger = silentLogger();
const trust = await loadTrustStore(rootPath(config, config.bundle.trustStore));
const verifier = createVerifier({ trust, releaseFloor: await readReleaseFloor(rootPath(config, config.bundle.floorFile)), compatible: config.bundle.compatible });
const fetcher = await createFetcher(config.fetch, { resolvePath: (p) => rootPath(config, p), stateDir: stateDir(config), proxyEnv: proxyEnvironment(), logger, now: Date.now });
const { service } = await createUpdateApp(config, { logger, verifier, releaseFloor: null, sourceFor: (origin) => fetcher.sourceFor(origin) });
service.subscribe((e) => {
  if (e.type === 'progress') process.stdout.write(`progress ${e.done} ${e.total}\n`);
  if (e.type === 'state') process.stdout.write(`state ${e.state}${e.error ? ' ' + e.error.code : ''}\n`);
});
const shutdown = new AbortController();
const first = mode === 'start' ? () => service.start(fetcher.sourceFor(url!)) : () => service.resumeAfterBoot();
const result = await runInWindows(fetcher.gate, { stop: () => service.stop(), resume: () => service.resumeAfterBoot() }, first, shutdown.signal);
process.stdout.write(`result ${JSON.stringify(result)}\n`);
