// A source whose code is loaded at its first delivery. agent/fetch/from-config.ts hands these
// out for URLs, so node:http, the range client and the delta planner are evaluated only when a
// bundle does come over the network, not by a file install or a daemon with nothing to fetch.
import type { BundleSource } from './source.ts';

export function deferredSource(origin: string, load: () => Promise<BundleSource>): BundleSource {
  let source: Promise<BundleSource> | null = null;
  const loaded = () =>
    (source ??= load().catch((err: unknown) => {
      source = null; // a later delivery tries again
      throw err;
    }));
  return { origin, deliver: async (options) => (await loaded()).deliver(options) };
}
