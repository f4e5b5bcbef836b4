// Inventory between real HubClients and the reference hub in this process: the hash of the
// acknowledged inventory on disk means a restart (of the node or of the hub) resends nothing
// unchanged; a change is exactly one diff; a hub that lost or corrupted its copy gets a full one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { startTestHub, type TestHub } from '../../support/hub-in-process.ts';
import { INVENTORY_ACK_FILE } from '../../../agent/inventory/ack-store.ts';
import { hashFlat } from '../../../agent/inventory/hash.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { MAX_FRAME_BYTES, type Inventory } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { startTestClient } from '../../support/hub-client.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hub-inv-base-'));
  dirs.push(d);
  await mkdir(join(d, 'bundles'));
  return d;
}

const hubAt = (dir: string, port = 0) => startTestHub(dir, { port, acceptAll: true });

/** One node: its inventory is whatever `facts` holds when collected. */
function nodeAt(dir: string, hubUrl: () => string) {
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, 'inv-node');
  const state = { facts: { 'os.name': 'debian', 'custom.site.cabinet': '7', 'cpu.cores': 4 } as Inventory, collections: 0 };
  return {
    identity,
    state,
    async start() {
      return startTestClient({
        url: hubUrl(), clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, identity, dir: join(dir, 'node'),
        source: { inventory: async () => (state.collections++, { ...state.facts }), location: async () => null },
        timings: { inventoryIntervalS: 0 },
      });
    },
  };
}

type History = Array<{ type: string; mode?: string }>;
const inventoryModes = (h: History) => h.filter((e) => e.type === 'inventory').map((e) => e.mode);

test('restarts of node and hub resend nothing unchanged; a change is one diff; a lost base gets a full inventory', { timeout: 240_000 }, async () => {
  const dir = await scratch();
  let hub: TestHub = await hubAt(dir);
  const port = Number(new URL(hub.hub.url).port);
  const node = nodeAt(dir, () => hub.hub.agentUrl);
  const record = () => hub.detail(node.identity.fingerprint);
  const ackFile = join(dir, 'node', INVENTORY_ACK_FILE);
  const ackedOnDisk = async () => JSON.parse(await readFile(ackFile, 'utf8').catch(() => '{}')).hash as string | undefined;
  let a = await node.start();
  try {
    // First connect: a full inventory, acknowledged, its hash kept on the node's disk.
    await waitFor('full inventory acknowledged', async () => (await record())?.inventoryHash && (await ackedOnDisk()) === (await record())!.inventoryHash);
    assert.deepEqual(inventoryModes((await record())!.history), ['full']);
    assert.equal((await record())!.inventoryHash, hashFlat(node.state.facts));

    // Node restart, inventory unchanged: it collects, compares with the acknowledged hash, sends nothing.
    await a.stop();
    const before = node.state.collections;
    a = await node.start();
    await waitFor('collection on connect', () => node.state.collections > before);
    await a.client.reporter.checkInventory(); // and a scheduled check: still nothing
    await waitFor('outbox drained', () => a.client.outbox.pendingCount === 0);
    assert.deepEqual(inventoryModes((await record())!.history), ['full'], 'no inventory resent after the restart');

    // A change: exactly one diff, applied on top of the hub's copy.
    node.state.facts = { ...node.state.facts, 'custom.site.cabinet': '9' };
    await a.client.reporter.checkInventory();
    await a.client.reporter.checkInventory();
    await waitFor('diff applied', async () => (await record())?.inventory?.['custom.site.cabinet'] === '9');
    assert.deepEqual(inventoryModes((await record())!.history), ['full', 'diff']);
    await waitFor('diff acknowledged', async () => (await ackedOnDisk()) === hashFlat(node.state.facts));

    // Hub restart with its state file: the node reconnects and sends nothing.
    await hub.close();
    const restarted = Date.now();
    hub = await hubAt(dir, port);
    await waitFor('node back online', async () => ((await record())?.lastSeen ?? 0) >= restarted);
    await waitFor('auth result handled', () => a.client.health());
    await a.client.reporter.checkInventory();
    await waitFor('outbox drained', () => a.client.outbox.pendingCount === 0);
    assert.deepEqual(inventoryModes((await record())!.history), ['full', 'diff'], 'the hub kept its base: nothing resent');

    // Hub restart that lost everything: the auth result names no inventory, the node sends a full one.
    await hub.close();
    for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm']) await rm(join(dir, f), { force: true });
    hub = await hubAt(dir, port);
    await waitFor('full inventory at the new hub', async () => (await record())?.inventory?.['custom.site.cabinet'] === '9');
    assert.deepEqual(inventoryModes((await record())!.history), ['full']);
    assert.equal((await record())!.inventoryHash, hashFlat(node.state.facts));
  } finally {
    await a.stop();
    await hub.close();
  }
});

test('a diff against a base the hub does not hold is not applied; the hub asks for and gets a full one', { timeout: 240_000 }, async () => {
  const dir = await scratch();
  const hub = await hubAt(dir);
  const node = nodeAt(dir, () => hub.hub.agentUrl);
  const record = () => hub.detail(node.identity.fingerprint);
  const a = await node.start();
  try {
    await waitFor('full inventory', async () => (await record())?.inventoryHash);
    // The hub's copy drifts (a hand edit, a bug): it no longer holds what the node acknowledged.
    const db = new DatabaseSync(join(dir, 'hub.db'));
    const drifted = hashFlat({ 'os.name': 'debian' });
    db.prepare('UPDATE inventories SET data = ?, hash = ? WHERE node_id = ?').run(JSON.stringify({ 'os.name': 'debian' }), drifted, node.identity.fingerprint);
    db.prepare('UPDATE nodes SET inventory_hash = ? WHERE id = ?').run(drifted, node.identity.fingerprint);
    db.close();
    node.state.facts = { ...node.state.facts, 'cpu.cores': 8 };
    await a.client.reporter.checkInventory();
    await waitFor('full inventory after the refresh', async () => (await record())?.inventory?.['cpu.cores'] === 8 && (await record())?.inventory?.['custom.site.cabinet'] === '7');
    assert.deepEqual(inventoryModes((await record())!.history), ['full', 'wrong-base', 'full']);
    assert.equal((await record())!.inventoryHash, hashFlat(node.state.facts));
    await waitFor('refresh acknowledged', async () => (await record())!.outstanding.length === 0 && (await record())!.acks.some((k) => k.type === 'inventory.refresh'));
  } finally {
    await a.stop();
    await hub.close();
  }
});
