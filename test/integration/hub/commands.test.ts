// The reference hub in this process and real HubClients: commands, backoff hint, health check,
// a forged signature, and bundle downloads with Range.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startTestHub, testBundle, type TestHub } from '../../support/hub-in-process.ts';
import { identityFromKey, type DeviceIdentity } from '../../../agent/identity/device-identity.ts';
import { MAX_FRAME_BYTES } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { startTestClient } from '../../support/hub-client.ts';
import { createLogger } from '../../../agent/log/logger.ts';
import { Writable } from 'node:stream';

let dir: string;
let t: TestHub;
let BUNDLE: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-cmd-'));
  await mkdir(join(dir, 'bundles'));
  BUNDLE = await readFile(await testBundle(join(dir, 'bundles', 'b.bundle')));
  t = await startTestHub(dir, { acceptAll: true });
});

after(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

const newIdentity = (name: string) => identityFromKey(generateKeyPairSync('ed25519').privateKey, name);

async function agent(name: string, identity: DeviceIdentity = newIdentity(name)) {
  let ticks = 0;
  const running = await startTestClient({
    url: t.hub.agentUrl, clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, identity, dir: join(dir, name),
    source: { inventory: async () => ({ 'os.name': 'x', tick: ticks++ }), location: async () => null },
  });
  return { ...running, identity };
}

const node = async (fp: string) => (await t.detail(fp))!;
const admin = (path: string, body: unknown) => t.admin(path, body);

test('inventory.refresh: acked, a full inventory and a command.result follow; health check passes', async () => {
  const a = await agent('refresh');
  try {
    await waitFor('first inventory', async () => (await t.detail(a.identity.fingerprint))?.ackedSeq! >= 1);
    assert.equal(await a.client.health(), true);
    const [issued] = (await admin('/admin/command', { node: a.identity.fingerprint, type: 'inventory.refresh' })) as Array<{ id: string }>;
    await waitFor('command.result stored', async () => (await node(a.identity.fingerprint)).history.some((h) => h.type === 'command.result'));
    const n = await node(a.identity.fingerprint);
    assert.deepEqual(n.acks.map((x) => [x.ref, x.result]), [[issued!.id, 'accepted']]);
    assert.deepEqual(n.history.map((h) => h.type), ['inventory', 'inventory', 'command.result']);
    assert.equal(n.inventory!.tick, 1, 'the refresh sent a new full snapshot');
  } finally {
    await a.stop();
  }
});

test('a command the node refuses under its rate limit stays pending and goes again when the node allows it', async () => {
  // A hub of its own, to read its log: one refresh at once, then one every 3 s on the node, so
  // the second refresh is refused E_RATE_LIMITED with retryAfterS.
  const hubLog: Array<Record<string, unknown>> = [];
  const out = new Writable({ write(c, _e, cb) { for (const l of String(c).split('\n')) if (l) hubLog.push(JSON.parse(l)); cb(); } });
  const own = await startTestHub(await mkdtemp(join(dir, 'limited-')), { acceptAll: true, log: createLogger({ level: 'info', out }) });
  const identity = newIdentity('limited');
  const a = await startTestClient({
    url: own.hub.agentUrl, identity, dir: join(dir, 'limited-node'), commandLimits: { 'inventory.refresh': { burst: 1, everyS: 3 } },
    source: { inventory: async () => ({ 'os.name': 'x' }), location: async () => null },
  });
  try {
    await waitFor('first inventory', async () => (await own.detail(identity.fingerprint))?.ackedSeq! >= 1);
    const [first] = (await own.admin('/admin/command', { node: identity.fingerprint, type: 'inventory.refresh' })) as Array<{ id: string }>;
    const [second] = (await own.admin('/admin/command', { node: identity.fingerprint, type: 'inventory.refresh' })) as Array<{ id: string }>;
    const n = await waitFor('both commands acknowledged', async () => {
      const d = (await own.detail(identity.fingerprint))!;
      return d.acks.length === 2 ? d : null;
    });
    // The node did refuse one for now, and that refusal never became the command's answer.
    assert.ok(hubLog.some((l) => l.msg === 'command rate-limited by the node; sending it again later' && (l.ref === first!.id || l.ref === second!.id)), 'one refresh was rate-limited');
    assert.deepEqual(n.acks.map((x) => [x.ref, x.result]).sort(), [[first!.id, 'accepted'], [second!.id, 'accepted']].sort());
    assert.deepEqual((await own.hub.store.listCommands({ nodeId: identity.fingerprint })).map((r) => r.status), ['acked', 'acked']);
  } finally {
    await a.stop();
    await own.close();
  }
});

test('config.push is persisted on the node before it is acknowledged', async () => {
  const a = await agent('push');
  try {
    await waitFor('online', () => a.client.link.isAuthenticated());
    await admin('/admin/command', { node: a.identity.fingerprint, type: 'config.push', config: { reportIntervals: { locationS: 60 } } });
    await waitFor('acked', async () => (await node(a.identity.fingerprint)).acks.length === 1);
    const saved = await readFile(join(dir, 'push', 'hub-config.json'), 'utf8'); // already there when the ack arrived
    assert.deepEqual(JSON.parse(saved), { reportIntervals: { locationS: 60 } });
  } finally {
    await a.stop();
  }
});

test('a backoff hint closes the link; the redial is spread over the hinted interval (plus the base)', async () => {
  const a = await agent('backoff');
  try {
    await waitFor('online', () => a.client.link.isAuthenticated());
    await admin('/admin/command', { node: a.identity.fingerprint, type: 'backoff', retryAfterS: 2 });
    const down = await waitFor('link down after hint', () => a.lines.find((l) => l.msg === 'hub link down, redialling' && l.end === 'backoff'));
    assert.ok(Number(down.delayMs) >= 50 && Number(down.delayMs) <= 2050, `redial after ${down.delayMs} ms`);
  } finally {
    await a.stop();
  }
});

test('a signature made with another key than the one presented is rejected (E_AUTH_SIGNATURE)', async () => {
  const real = newIdentity('forger');
  const other = newIdentity('forger');
  const forged: DeviceIdentity = { ...real, sign: other.sign };
  const a = await agent('forger', forged);
  try {
    const line = await waitFor('rejection', () => a.lines.find((l) => l.msg === 'hub rejected this node'));
    assert.equal(line.code, 'E_AUTH_SIGNATURE');
    assert.equal(await t.detail(real.fingerprint), undefined, 'nothing registered');
  } finally {
    await a.stop();
  }
});

test('an offer to a group reaches every accepted member and is acknowledged by each', async () => {
  const a = await agent('g1');
  const b = await agent('g2');
  const c = await agent('g3');
  try {
    await waitFor('all online', () => [a, b, c].every((x) => x.client.link.isAuthenticated()));
    for (const x of [a, b]) await admin('/admin/groups', { node: x.identity.fingerprint, groups: ['lobby'] });
    const issued = (await admin('/admin/offer', { group: 'lobby', bundle: 'b.bundle' })) as Array<{ node: string; delivered: boolean }>;
    assert.deepEqual(issued.map((i) => i.node).sort(), [a.identity.fingerprint, b.identity.fingerprint].sort());
    await waitFor('both acked', async () => (await Promise.all([a, b].map((x) => node(x.identity.fingerprint)))).every((n) => n.acks.length === 1));
    // No update service in these agents: the ack says so, with a stable code.
    assert.equal((await node(a.identity.fingerprint)).acks[0]!.code, 'E_COMMAND_UNSUPPORTED');
    assert.equal((await node(c.identity.fingerprint)).acks.length, 0, 'not in the group');
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('bundles are served with Range (206), 416 past the end, ETag and Last-Modified', async () => {
  const a = await agent('ranges');
  await waitFor('online', () => a.client.link.isAuthenticated());
  await a.stop();
  const [offered] = (await admin('/admin/offer', { node: a.identity.fingerprint, bundle: 'b.bundle' })) as Array<{ id: string }>;
  const cmd = (await t.hub.store.getCommand(a.identity.fingerprint, offered!.id))!.command as { bundle: { url: string } };
  const url = cmd.bundle.url;
  const full = await fetch(url);
  assert.equal(full.status, 200);
  assert.deepEqual(Buffer.from(await full.arrayBuffer()), BUNDLE);
  const etag = full.headers.get('etag')!;
  assert.ok(etag && full.headers.get('last-modified') && full.headers.get('accept-ranges') === 'bytes');
  const part = await fetch(url, { headers: { range: 'bytes=100-199', 'if-range': etag } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-199/${BUNDLE.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), BUNDLE.subarray(100, 200));
  const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), BUNDLE.subarray(-10));
  const open = await fetch(url, { headers: { range: `bytes=${BUNDLE.length - 10}-` } });
  assert.equal(open.status, 206);
  assert.equal((await open.arrayBuffer()).byteLength, 10);
  const past = await fetch(url, { headers: { range: `bytes=${BUNDLE.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${BUNDLE.length}`);
  await past.arrayBuffer();
  const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
  assert.equal(stale.status, 200, 'a changed validator gets the whole file');
  await stale.arrayBuffer();
  assert.equal((await fetch(`${t.hub.url}/bundles/..%2Fhub.db?${new URL(url).searchParams}`)).status, 404);
});
