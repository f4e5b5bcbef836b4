// Nodes are their keys: a new key cannot take an accepted node's device id, a device id two
// nodes claim cannot accept both, enrolments are capped, and only an accepted node holding the
// download token made for it gets a bundle (pending, unknown and foreign callers get 404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, testBundle, type TestHub } from '../support/hub-in-process.ts';
import { waitFor } from '../support/dev-hub.ts';
import { startAgent } from './agents.ts';

let dir: string;
let t: TestHub;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-node-access-'));
  await mkdir(join(dir, 'bundles'));
  await testBundle(join(dir, 'bundles', 'app.bundle'));
  await testBundle(join(dir, 'bundles', 'other.bundle'), { version: '3.0.0', release: 3, seed: 2 });
  t = await startTestHub(dir, { pendingRetryS: 1 });
});

after(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

test('a new key claiming an accepted device id is refused; an ambiguous device id accepts nobody', async () => {
  const real = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'gate-1' });
  const twin = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'gate-2' });
  try {
    await waitFor('both pending', async () => (await t.admin('/admin/nodes?status=pending')).nodes.length === 2);
    await t.admin('/admin/accept', { node: real.identity.fingerprint });
    await waitFor('real node online', () => real.client.link.isAuthenticated());
    // Another key dialling in as gate-1 is refused before anything is stored.
    const impostor = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'gate-1' });
    try {
      const line = await waitFor('impostor rejected', () => impostor.lines.find((l) => l.msg === 'hub rejected this node'));
      assert.equal(line.code, 'E_AUTH_KEY_MISMATCH');
      assert.equal(await t.detail(impostor.identity.fingerprint), undefined, 'nothing stored for it');
      assert.equal(real.client.link.isAuthenticated(), true, 'the real node keeps its link');
    } finally {
      await impostor.stop();
    }
    // Two nodes named alike (the second renamed before it was accepted): "accept NAME" is refused.
    await t.hub.store.updateNode(twin.identity.fingerprint, { name: 'gate-1' });
    await assert.rejects(t.admin('/admin/accept', { node: 'gate-1' }), /409.*E_API_AMBIGUOUS/);
    assert.equal((await t.detail(twin.identity.fingerprint))!.status, 'pending');
  } finally {
    await Promise.all([real.stop(), twin.stop()]);
  }
});

test('bundles are served only to an accepted node with its own unexpired token', async () => {
  const a = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'dl-accepted' });
  const p = await startAgent({ url: t.hub.agentUrl, dir, deviceId: 'dl-pending' });
  try {
    await waitFor('both known', async () => (await t.detail(a.identity.fingerprint)) && (await t.detail(p.identity.fingerprint)));
    await t.admin('/admin/accept', { node: a.identity.fingerprint });
    await waitFor('accepted node online', () => a.client.link.isAuthenticated());
    const [offer] = await t.admin('/admin/offer', { node: a.identity.fingerprint, bundle: 'app.bundle' });
    const url = new URL(((await t.hub.store.getCommand(a.identity.fingerprint, offer.id))!.command as { bundle: { url: string } }).bundle.url);
    assert.equal((await fetch(url)).status, 200, 'the accepted node downloads');

    const bundles = t.hub.ctx.bundles;
    const bundleRow = (await t.hub.store.getBundle('app.bundle'))!;
    const other = (await t.hub.store.getBundle('other.bundle'))!;
    const refused = [
      new URL(url.pathname, url), // no token
      new URL(`${url.pathname}?t=garbage.garbage`, url),
      new URL(bundles.urlFor(p.identity.fingerprint, bundleRow)), // a pending node's own token
      new URL(bundles.urlFor('c'.repeat(64), bundleRow)), // an unknown node
      new URL(`/bundles/other.bundle${url.search}`, url), // the token of another bundle
    ];
    for (const u of refused) {
      const r = await fetch(u);
      assert.equal(r.status, 404, u.toString());
      await r.arrayBuffer();
    }
    assert.equal((await fetch(bundles.urlFor(a.identity.fingerprint, other))).status, 200, 'a token for that bundle works');
    // A pending node's link gets nothing but "pending": no inventory, no other nodes, no commands.
    const pend = p.lines.filter((l) => l.msg === 'hub holds this node as pending until an operator accepts its fingerprint');
    assert.ok(pend.length >= 1);
    // Rejecting the node ends its downloads at once.
    await t.admin('/admin/reject', { node: a.identity.fingerprint });
    assert.equal((await fetch(url)).status, 404);
  } finally {
    await Promise.all([a.stop(), p.stop()]);
  }
});

test('a download token expires', async () => {
  const { makeDownloadToken, checkDownloadToken } = await import('../../hub/bundles/download-token.ts');
  const secret = Buffer.alloc(32, 7);
  const tok = makeDownloadToken(secret, { node: 'n1', bundle: 'b', exp: 1000 });
  assert.deepEqual(checkDownloadToken(secret, tok, 'b', 999), { node: 'n1', bundle: 'b', exp: 1000 });
  assert.equal(checkDownloadToken(secret, tok, 'b', 1001), null, 'expired');
  assert.equal(checkDownloadToken(secret, tok, 'c', 999), null, 'another bundle');
  assert.equal(checkDownloadToken(Buffer.alloc(32, 8), tok, 'b', 999), null, 'another hub secret');
});
