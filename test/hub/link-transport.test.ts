// The agent endpoint over TLS (wss with a configured certificate; the agent trusts it through
// hub.caFile), and the hub-side dead-link timeout (only the agent sends heartbeats).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub } from '../support/hub-in-process.ts';
import { waitFor } from '../support/dev-hub.ts';
import { buildClientOptions } from '../../agent/net/ws-transport.ts';
import { startAgent } from './agents.ts';

/** A self-signed certificate for 127.0.0.1 made by the real openssl. */
function testCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'hub.crt');
  const key = join(dir, 'hub.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=outpost-test-hub', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

test('wss: an agent trusting the hub certificate authenticates; bundle links are https', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-tls-'));
  await mkdir(join(dir, 'bundles'));
  const files = testCertificate(dir);
  const t = await startTestHub(dir, { acceptAll: true, tls: { cert: await readFile(files.cert), key: await readFile(files.key) } });
  try {
    assert.match(t.hub.agentUrl, /^wss:\/\/127\.0\.0\.1:\d+\/agent$/);
    assert.match(t.hub.url, /^https:/);
    const clientOptions = await buildClientOptions({ url: t.hub.agentUrl, caFile: files.cert, certFile: null, keyFile: null, proxy: null, handshakeTimeoutMs: 5000 });
    const a = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'tls-1', clientOptions });
    try {
      await waitFor('authenticated over wss', () => a.client.link.isAuthenticated(), 30_000);
      await waitFor('inventory stored', async () => ((await t.detail(a.identity.fingerprint))?.ackedSeq ?? 0) >= 1);
    } finally {
      await a.stop();
    }
    // Without the CA the agent refuses the hub (certificate verification is on).
    const untrusting = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'tls-2', clientOptions: await buildClientOptions({ url: t.hub.agentUrl, caFile: null, certFile: null, keyFile: null, proxy: null, handshakeTimeoutMs: 5000 }) });
    try {
      await waitFor('refused the certificate', () => untrusting.lines.find((l) => l.msg === 'hub link down, redialling' && /self-signed|certificate/i.test(String(l.reason))));
      assert.equal(await t.detail(untrusting.identity.fingerprint), undefined);
    } finally {
      await untrusting.stop();
    }
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
});

test('the hub drops a link it has not heard from for its link timeout; the agent redials', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-silent-'));
  await mkdir(join(dir, 'bundles'));
  const t = await startTestHub(dir, { acceptAll: true, linkTimeoutMs: 1500 });
  try {
    // An agent whose heartbeat is far longer than the hub's timeout: the hub ends the link.
    const a = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'quiet-1', timings: { pingIntervalMs: 600_000 } });
    try {
      await waitFor('first link', () => a.authenticatedAt.length >= 1, 30_000);
      await waitFor('dropped by the hub and redialled', () => a.authenticatedAt.length >= 2, 30_000);
      assert.ok(a.authenticatedAt[1]! - a.authenticatedAt[0]! >= 1400, 'not before the timeout');
    } finally {
      await a.stop();
    }
    // A pinging agent keeps its link well past the timeout.
    const b = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'chatty-1', timings: { pingIntervalMs: 300 } });
    try {
      await waitFor('link', () => b.client.link.isAuthenticated(), 30_000);
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(b.authenticatedAt.length, 1, 'never dropped');
    } finally {
      await b.stop();
    }
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
});
