// Builds the download parts from the validated config section: one gate (windows, budget,
// throttle) shared by every HTTP source, and a factory for sources. app.ts calls this; the
// environment's proxy variables come in already read (agent/config/sections/fetch.ts).
import { join } from 'node:path';
import type { SectionOf } from '../config/schema.ts';
import type { fetch as fetchSection } from '../config/sections/fetch.ts';
import type { Logger } from '../log/logger.ts';
import { ByteBudget } from './byte-budget.ts';
import { DownloadGate } from './download-gate.ts';
import type { BundleSource } from '../bundle/source.ts';
import { deferredSource } from '../bundle/deferred-source.ts';
import { parseNoProxy } from '../net/no-proxy.ts';
import { parseProxyUrl, proxySetting, type ProxyEnvironment } from '../net/proxy.ts';
import { loadTlsMaterial } from '../net/tls-options.ts';

export type FetchSettings = SectionOf<typeof fetchSection.fields>;

export interface FetchDeps {
  /** Maps a configured path under the config root. */
  readonly resolvePath: (p: string) => string;
  readonly stateDir: string;
  readonly proxyEnv: ProxyEnvironment;
  readonly logger: Logger;
  /** Trusted wall clock for windows and budget periods. */
  readonly now: () => number;
}

export interface Fetcher {
  readonly gate: DownloadGate;
  readonly budget: ByteBudget | null;
  sourceFor(url: string): BundleSource;
}

export const BUDGET_FILE = 'download-budget.json';

/** The proxy for downloads from `url` before NO_PROXY (agent/net/proxy.ts, as for the hub link). */
export function proxyFor(url: string, s: FetchSettings, env: ProxyEnvironment): string | null {
  return proxySetting(new URL(url), s, env);
}

export async function createFetcher(s: FetchSettings, deps: FetchDeps): Promise<Fetcher> {
  const path = (p: string | null) => (p === null ? null : deps.resolvePath(p));
  const tls = await loadTlsMaterial({ caFile: path(s.caFile), publicCas: s.publicCas, clientCertFile: path(s.clientCertFile), clientKeyFile: path(s.clientKeyFile) });
  const budget =
    s.dailyByteBudget === null && s.monthlyByteBudget === null
      ? null
      : await ByteBudget.open(join(deps.stateDir, BUDGET_FILE), { dailyBytes: s.dailyByteBudget, monthlyBytes: s.monthlyByteBudget, timezone: s.budgetTimezone }, deps.now);
  const gate = new DownloadGate({ windows: s.windows, maxBytesPerSecond: s.maxBytesPerSecond, budget, now: deps.now, logger: deps.logger });
  const noProxy = s.noProxy ?? parseNoProxy(deps.proxyEnv.noProxy);
  return {
    gate,
    budget,
    sourceFor: (url) => {
      const transport = { tls, proxy: proxyFor(url, s, deps.proxyEnv), noProxy };
      if (transport.proxy && transport.proxy !== 'direct') parseProxyUrl(transport.proxy); // fails here, as the transport would
      const o = {
        retry: { maxAttempts: s.retryMaxAttempts, baseMs: s.retryBaseMs, capMs: s.retryCapMs, giveUpAfterMs: s.giveUpAfterMinutes * 60_000 },
        readDeadlineMs: s.readDeadlineSeconds * 1000,
        maxBlockRetries: s.maxBlockRetries,
        throttle: gate.throttle,
        onBytes: (n: number) => gate.charge(n),
        logger: deps.logger,
      };
      return deferredSource(url, async () => (await import('./http-bundle-source.ts')).httpBundleSource(url, transport, o));
    },
  };
}
