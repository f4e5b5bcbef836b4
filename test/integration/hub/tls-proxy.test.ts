// wss:// with a private CA, mutual TLS and an HTTP CONNECT proxy, against real TLS servers and
// a real proxy on 127.0.0.1. Certificates are made with the openssl CLI at test time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { buildClientOptions } from '../../../agent/net/ws-transport.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';
import { encodeHubMessage } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { startTestClient } from '../../support/hub-client.ts';

let dir: string;
let server: https.Server;
let wssUrl: string;
const pem = (n: string) => readFile(join(dir, n), 'utf8');

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Outpost Test CA');
  for (const [name, cn, ext] of [['server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], ['client', 'node-1', 'extendedKeyUsage=clientAuth']] as const) {
    await writeFile(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  server = https.createServer({ key: await pem('server.key'), cert: await pem('server.pem'), ca: await pem('ca.pem'), requestCert: true, rejectUnauthorized: true });
  // Just enough hub to finish the handshake: this test is about the transport.
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'hello') ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'c', nonce: Buffer.alloc(32, 3).toString('base64') }));
      if (m.type === 'auth') ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'r', result: 'accepted', ackedSeq: 0, node: 'tls' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  wssUrl = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/agent`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function connect(name: string, t: { caFile?: string; certFile?: string; keyFile?: string; proxy?: string; url?: string }) {
  const url = t.url ?? wssUrl;
  const clientOptions = await buildClientOptions({
    url, caFile: t.caFile ?? null, certFile: t.certFile ?? null, keyFile: t.keyFile ?? null, proxy: t.proxy ? new URL(t.proxy) : null, handshakeTimeoutMs: 3000,
  });
  return startTestClient({ url, clientOptions, identity: await loadOrCreateIdentity(join(dir, name, 'id'), name), dir: join(dir, name, 'hub') });
}

test('wss with the configured CA and a client certificate authenticates', async () => {
  const c = await connect('good', { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') });
  try {
    await waitFor('authenticated', () => c.client.link.isAuthenticated());
    assert.equal(await c.client.health(), true);
  } finally {
    await c.stop();
  }
});

test('without the private CA the hub certificate is refused', async () => {
  const c = await connect('noca', { certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') });
  try {
    const down = await waitFor('a refused dial', () => c.lines.find((l) => l.msg === 'hub link down, redialling'));
    assert.match(String(down.reason), /certificate|self.signed|verify/i);
    assert.equal(c.client.link.isAuthenticated(), false);
    assert.equal(await c.client.health(), false, 'hub-reachable is false while not linked');
  } finally {
    await c.stop();
  }
});

test('without a client certificate the mutual-TLS hub refuses the node', async () => {
  const c = await connect('nocert', { caFile: join(dir, 'ca.pem') });
  try {
    await waitFor('two refused dials', () => c.lines.filter((l) => l.msg === 'hub link down, redialling').length >= 2);
    assert.equal(c.client.link.isAuthenticated(), false);
  } finally {
    await c.stop();
  }
});

test('through an HTTP CONNECT proxy, TLS runs end to end inside the tunnel', async () => {
  const seen: string[] = [];
  const tunnels = new Set<net.Socket>();
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client: net.Socket, head) => {
    seen.push(String(req.url));
    tunnels.add(client);
    const [host, port] = String(req.url).split(':');
    const upstream = net.connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    tunnels.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const c = await connect('proxied', { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key'), proxy: proxyUrl });
  try {
    await waitFor('authenticated via proxy', () => c.client.link.isAuthenticated());
    assert.deepEqual(seen.slice(0, 1), [new URL(wssUrl).host]);
  } finally {
    await c.stop();
    // Tunnelled sockets left the HTTP server's bookkeeping: end them by hand.
    for (const s of tunnels) s.destroy();
    await new Promise((r) => proxy.close(r));
  }
});
