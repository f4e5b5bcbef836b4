// What a file install and `outpost status` leave unloaded: node:http and node:tls (with what they
// pull in) and node:perf_hooks cost every start ~8 ms of CPU, and only a download needs them
// (agent/bundle/deferred-source.ts, agent/net/lazy-tls.ts, agent/lib/monotonic.ts). In a child
// process, so the list of loaded modules is its own; a download's first delivery loads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const at = (p: string) => JSON.stringify(pathToFileURL(resolve(import.meta.dirname, '../../..', p)).href);

const SCRIPT = `
const loaded = () => ['http', 'https', 'tls', 'perf_hooks'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
await import(${at('agent/cli/install.ts')});
await import(${at('agent/cli/status.ts')});
const { parseConfig } = await import(${at('agent/config/load.ts')});
const { createFetcher } = await import(${at('agent/fetch/from-config.ts')});
const { silentLogger } = await import(${at('agent/log/logger.ts')});
const fetcher = await createFetcher(parseConfig({}).fetch, {
  resolvePath: (p) => p, stateDir: '/nonexistent', proxyEnv: { httpProxy: null, httpsProxy: null, noProxy: null }, logger: silentLogger(), now: Date.now,
});
const source = fetcher.sourceFor('http://127.0.0.1:9/bundle');
const before = loaded();
const signal = AbortSignal.abort();
await source.deliver({ sink: null, resume: null, signal, verifier: null }).catch(() => {});
console.log(JSON.stringify({ before, after: loaded() }));
`;

test('install and status load no HTTP, TLS or perf_hooks until a download is delivered', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: string[]; after: string[] };
  assert.deepEqual(before, []);
  assert.ok(after.includes('http'), `a delivery loads node:http (loaded: ${after.join(', ')})`);
});
