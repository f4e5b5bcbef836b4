// What a file install and `outpost status` leave unloaded: node:http and node:tls (with what they
// pull in) and node:perf_hooks cost every start ~8 ms of CPU, and only a download needs them
// (agent/bundle/deferred-source.ts, agent/net/lazy-tls.ts, agent/lib/monotonic.ts). A direct
// download over plain http needs neither node:http nor node:tls (agent/fetch/socket-get.ts reads
// it from a node:net socket). In a child process, so the list of loaded modules is its own; the
// server it downloads from is a node:net one for the same reason.
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
const { createServer } = await import('node:net');
let asked = '';
const server = createServer((s) => s.on('data', (d) => {
  asked += d;
  if (asked.includes('\\r\\n\\r\\n')) s.end('HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\n\\r\\n');
}));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const source = fetcher.sourceFor('http://127.0.0.1:' + server.address().port + '/bundle');
const before = loaded();
const failed = await source.deliver({ sink: null, resume: null, signal: AbortSignal.timeout(60_000), verifier: null }).then(() => null, (e) => e.code);
server.close();
console.log(JSON.stringify({ before, after: loaded(), asked: asked.split('\\r\\n')[0], failed }));
`;

test('install and status load no HTTP, TLS or perf_hooks; a plain-http download loads neither HTTP nor TLS', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const { before, after, asked, failed } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: string[]; after: string[]; asked: string; failed: string };
  assert.deepEqual(before, []);
  assert.equal(asked, 'GET /bundle HTTP/1.1', 'the delivery asked the server');
  assert.equal(failed, 'E_FETCH_HTTP', 'the 404 reached the downloader');
  assert.deepEqual(after.filter((m) => m !== 'perf_hooks'), [], 'a direct plain-http download loads no node:http, https or tls');
});
