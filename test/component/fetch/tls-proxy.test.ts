// HTTPS against a private CA made by openssl, client certificates, and a real CONNECT proxy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startFlakyServer } from '../../support/flaky-http-server.ts';
import { makePki } from './tls-fixtures.ts';
import { startProxy } from './connect-proxy.ts';
import { HttpTransport, type TransportOptions } from '../../../agent/net/http-transport.ts';
import { loadTlsMaterial, type TlsSettings } from '../../../agent/net/tls-options.ts';
import { openRange } from '../../../agent/fetch/http-range.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const pki = makePki();
const body = randomBytes(256 * 1024);
const https = await startFlakyServer({ body, tls: { key: pki.serverKey, cert: pki.serverCert } });
const mtls = await startFlakyServer({ body, tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true } });
const plain = await startFlakyServer({ body });
const proxy = await startProxy();
after(async () => {
  await Promise.all([https.close(), mtls.close(), plain.close(), proxy.close()]);
  rmSync(pki.dir, { recursive: true, force: true });
});

const tlsBase: TlsSettings = { caFile: null, publicCas: true, clientCertFile: null, clientKeyFile: null };

async function fetchAll(url: string, tls: Partial<TlsSettings>, net: Partial<TransportOptions> = {}): Promise<Buffer> {
  const transport = new HttpTransport({ tls: await loadTlsMaterial({ ...tlsBase, ...tls }), proxy: null, noProxy: [], ...net });
  const res = await openRange(transport, { url: new URL(url), start: 0, end: null, validator: null, signal: AbortSignal.timeout(10_000), deadlineMs: 5000 });
  const parts: Buffer[] = [];
  for await (const c of res.body) parts.push(Buffer.from(c)); // a chunk is valid only until the next is read
  return Buffer.concat(parts);
}

test('a server certificate from an untrusted CA is refused with E_FETCH_TLS (not retried)', async () => {
  await assert.rejects(fetchAll(https.url, {}), (e) => isOutpostError(e, 'E_FETCH_TLS') && !e.retryable);
  await assert.rejects(fetchAll(https.url, { caFile: pki.otherCaFile }), (e) => isOutpostError(e, 'E_FETCH_TLS'));
});

test('the configured CA bundle is trusted, with or without the public CAs', async () => {
  assert.deepEqual(await fetchAll(https.url, { caFile: pki.caFile }), body);
  assert.deepEqual(await fetchAll(https.url, { caFile: pki.caFile, publicCas: false }), body);
});

test('client certificate: sent when configured; a server that requires one refuses us without it', async () => {
  assert.deepEqual(await fetchAll(mtls.url, { caFile: pki.caFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile }), body);
  await assert.rejects(fetchAll(mtls.url, { caFile: pki.caFile }), (e) => isOutpostError(e) && /E_FETCH_(TLS|NETWORK)/.test(e.code));
});

test('bad TLS settings fail early with E_FETCH_TLS_CONFIG', async () => {
  await assert.rejects(loadTlsMaterial({ ...tlsBase, caFile: '/nonexistent/ca.pem' }), (e) => isOutpostError(e, 'E_FETCH_TLS_CONFIG'));
  await assert.rejects(loadTlsMaterial({ ...tlsBase, publicCas: false }), (e) => isOutpostError(e, 'E_FETCH_TLS_CONFIG'));
  await assert.rejects(loadTlsMaterial({ ...tlsBase, clientCertFile: pki.clientCertFile }), (e) => isOutpostError(e, 'E_FETCH_TLS_CONFIG'));
});

test('https goes through the proxy as a CONNECT tunnel, with proxy credentials; TLS is still verified end to end', async () => {
  const before = proxy.tunnels.length;
  assert.deepEqual(await fetchAll(https.url, { caFile: pki.caFile }, { proxy: proxy.url }), body);
  assert.equal(proxy.tunnels.length, before + 1);
  assert.equal(proxy.tunnels.at(-1), `127.0.0.1:${https.port}`);
  assert.equal(proxy.auth.at(-1), `Basic ${Buffer.from('user:secret').toString('base64')}`);
  await assert.rejects(fetchAll(https.url, {}, { proxy: proxy.url }), (e) => isOutpostError(e, 'E_FETCH_TLS'));
});

test('plain http goes through the proxy in absolute form', async () => {
  assert.deepEqual(await fetchAll(plain.url, {}, { proxy: proxy.url }), body);
  assert.equal(proxy.forwarded.at(-1), plain.url);
});

test('NO_PROXY entries bypass the proxy', async () => {
  const tunnels = proxy.tunnels.length;
  const forwarded = proxy.forwarded.length;
  assert.deepEqual(await fetchAll(https.url, { caFile: pki.caFile }, { proxy: proxy.url, noProxy: ['127.0.0.0/8'] }), body);
  assert.deepEqual(await fetchAll(plain.url, {}, { proxy: proxy.url, noProxy: ['127.0.0.1'] }), body);
  assert.equal(proxy.tunnels.length, tunnels);
  assert.equal(proxy.forwarded.length, forwarded);
});

test('a proxy that is down is a retryable E_FETCH_PROXY', async () => {
  const dead = await startProxy();
  await dead.close();
  await assert.rejects(fetchAll(https.url, { caFile: pki.caFile }, { proxy: dead.url }), (e) => isOutpostError(e, 'E_FETCH_PROXY') && e.retryable);
});
