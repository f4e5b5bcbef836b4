// Regression: the hub link always added the public CAs, even with a private CA configured, so any
// public CA could vouch for a forged hub. hub.trustPublicCAs (default: on only without caFile)
// decides. The "public" CA here is a real certificate made trusted the way a public root is:
// through Node's default store (NODE_EXTRA_CA_CERTS) in a child process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { buildClientOptions } from '../../../agent/net/ws-transport.ts';
import { checkConfig } from '../../../agent/config/checks.ts';

const run = promisify(execFile);
let dir: string;
let server: Server;
let port: number;

function certificate(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-trust-'));
  const pub = certificate('public-root');
  certificate('private-ca');
  server = createServer({ cert: await readFile(pub.cert), key: await readFile(pub.key) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  await writeFile(join(dir, 'probe.ts'), `
import { connect } from 'node:tls';
import { buildClientOptions } from ${JSON.stringify(pathToFileURL(resolve(import.meta.dirname, '../../../agent/net/ws-transport.ts')).href)};
const [caFile, pub, port] = process.argv.slice(2);
const o = await buildClientOptions({ url: 'wss://127.0.0.1:' + port + '/agent', caFile: caFile === 'none' ? null : caFile, publicCas: pub === 'default' ? null : pub === 'true', certFile: null, keyFile: null, proxy: null, handshakeTimeoutMs: 5000 });
const s = connect({ host: '127.0.0.1', port: Number(port), ca: o.ca }, () => { console.log('trusted'); s.end(); });
s.on('error', (e) => console.log('refused ' + e.code));
`);
});

after(async () => {
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** Connects from a process whose default (public) store holds the "public" root. */
async function probe(caFile: string | null, publicCas: boolean | null): Promise<string> {
  const { stdout } = await run(process.execPath, [join(dir, 'probe.ts'), caFile ?? 'none', publicCas === null ? 'default' : String(publicCas), String(port)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'public-root.crt') },
  });
  return stdout.trim();
}

test('with a private CA, a hub vouched for only by a public CA is refused unless trustPublicCAs says so', { timeout: 60_000 }, async () => {
  const privateCa = join(dir, 'private-ca.crt');
  assert.equal(await probe(null, null), 'trusted', 'no private CA: the public roots are trusted');
  assert.match(await probe(privateCa, null), /^refused /, 'private CA: public roots are not added');
  assert.match(await probe(privateCa, false), /^refused /);
  assert.equal(await probe(privateCa, true), 'trusted', 'trustPublicCAs: true adds them back');
});

test('trustPublicCAs false without a caFile trusts nothing: E_HUB_TRUST from the transport and the config check', async () => {
  await assert.rejects(
    buildClientOptions({ url: 'wss://127.0.0.1:1/agent', caFile: null, publicCas: false, certFile: null, keyFile: null, proxy: null, handshakeTimeoutMs: 1000 }),
    { code: 'E_HUB_TRUST' },
  );
  const { loadConfig } = await import('../../../agent/config/load.ts');
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ core: { root: dir, stateDir: '/state' }, hub: { url: 'wss://hub.example/agent', trustPublicCAs: false } }));
  const config = await loadConfig(file);
  const problems = await checkConfig(config);
  assert.ok(problems.some((p) => p.code === 'E_HUB_TRUST' && p.severity === 'fatal'), JSON.stringify(problems));
  await writeFile(file, JSON.stringify({ core: { root: dir, stateDir: '/state' }, hub: { url: 'wss://hub.example/agent', trustPublicCAs: 'yes' } }));
  await assert.rejects(loadConfig(file), { code: 'E_CONFIG' });
});
