// Inventory between real HubClients and the reference hub in this process: the hash of the
// acknowledged inventory on disk means a restart (of the node or of the hub) resends nothing
// unchanged; a change is exactly one diff; a hub that lost or corrupted its copy gets a full one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startDevHub, type DevHub } from '../../../hub/app.ts';
import { HubClient } from '../../../agent/hub/client.ts';
import { INVENTORY_ACK_FILE } from '../../../agent/inventory/ack-store.ts';
import { hashFlat } from '../../../agent/inventory/hash.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { MAX_FRAME_BYTES, type Inventory } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';

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

const hubAt = (dir: string, port = 0) =>
  startDevHub({ host: '127.0.0.1', port, stateFile: join(dir, 'hub.json'), bundlesDir: join(dir, 'bundles'), acceptAll: true, log: silentLogger() });

/** One node: its inventory is whatever `facts` holds when collected. */
function nodeAt(dir: string, hubUrl: () => string) {
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, 'inv-node');
  const state = { facts: { 'os.name': 'debian', 'custom.site.cabinet': '7', 'cpu.cores': 4 } as Inventory, collections: 0 };
  return {
    identity,
    state,
    async start() {
      const client = await HubClient.open({
        url: hubUrl(), clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, identity, dir: join(dir, 'node'), agentVersion: '0.1.0',
        update: null, rebooter: null,
        source: { inventory: async () => (state.collections++, { ...state.facts }), location: async () => null },
        timings: {
          pingIntervalMs: 1000, authTimeoutMs: 3000, backoffBaseMs: 50, backoffCapMs: 200, stableAfterMs: 60_000,
          inventoryIntervalS: 0, locationIntervalS: 3600, healthDeadlineMs: 1000, outboxMaxBytes: 1 << 20, outboxMaxCount: 100,
        },
        log: silentLogger(),
      });
      const ac = new AbortController();
      const running = client.run(ac.signal);
      return { client, stop: async () => (ac.abort(), await running) };
    },
  };
}

type History = Array<{ type: string; mode?: string }>;
const inventoryModes = (h: History) => h.filter((e) => e.type === 'inventory').map((e) => e.mode);

test('restarts of node and hub resend nothing unchanged; a change is one diff; a lost base gets a full inventory', { timeout: 60_000 }, async () => {
  const dir = await scratch();
  let hub: DevHub = await hubAt(dir);
  const port = Number(new URL(hub.url).port);
  const node = nodeAt(dir, () => hub.agentUrl);
  const record = () => hub.store.state.nodes[node.identity.fingerprint];
  const ackFile = join(dir, 'node', INVENTORY_ACK_FILE);
  const ackedOnDisk = async () => JSON.parse(await readFile(ackFile, 'utf8').catch(() => '{}')).hash as string | undefined;
  let a = await node.start();
  try {
    // First connect: a full inventory, acknowledged, its hash kept on the node's disk.
    await waitFor('full inventory acknowledged', async () => record()?.inventoryHash && (await ackedOnDisk()) === record()!.inventoryHash);
    assert.deepEqual(inventoryModes(record()!.history), ['full']);
    assert.equal(record()!.inventoryHash, hashFlat(node.state.facts));

    // Node restart, inventory unchanged: it collects, compares with the acknowledged hash, sends nothing.
    await a.stop();
    const before = node.state.collections;
    a = await node.start();
    await waitFor('collection on connect', () => node.state.collections > before);
    await a.client.reporter.checkInventory(); // and a scheduled check: still nothing
    await waitFor('outbox drained', () => a.client.outbox.pendingCount === 0);
    assert.deepEqual(inventoryModes(record()!.history), ['full'], 'no inventory resent after the restart');

    // A change: exactly one diff, applied on top of the hub's copy.
    node.state.facts = { ...node.state.facts, 'custom.site.cabinet': '9' };
    await a.client.reporter.checkInventory();
    await a.client.reporter.checkInventory();
    await waitFor('diff applied', () => record()?.inventory?.['custom.site.cabinet'] === '9');
    assert.deepEqual(inventoryModes(record()!.history), ['full', 'diff']);
    await waitFor('diff acknowledged', async () => (await ackedOnDisk()) === hashFlat(node.state.facts));

    // Hub restart with its state file: the node reconnects and sends nothing.
    await hub.close();
    const restarted = Date.now();
    hub = await hubAt(dir, port);
    await waitFor('node back online', () => (record()?.lastSeen ?? 0) >= restarted);
    await waitFor('auth result handled', () => a.client.health());
    await a.client.reporter.checkInventory();
    await waitFor('outbox drained', () => a.client.outbox.pendingCount === 0);
    assert.deepEqual(inventoryModes(record()!.history), ['full', 'diff'], 'the hub kept its base: nothing resent');

    // Hub restart that lost everything: the auth result names no inventory, the node sends a full one.
    await hub.close();
    await rm(join(dir, 'hub.json'));
    hub = await hubAt(dir, port);
    await waitFor('full inventory at the new hub', () => record()?.inventory?.['custom.site.cabinet'] === '9');
    assert.deepEqual(inventoryModes(record()!.history), ['full']);
    assert.equal(record()!.inventoryHash, hashFlat(node.state.facts));
  } finally {
    await a.stop();
    await hub.close();
  }
});

test('a diff against a base the hub does not hold is not applied; the hub asks for and gets a full one', { timeout: 30_000 }, async () => {
  const dir = await scratch();
  const hub = await hubAt(dir);
  const node = nodeAt(dir, () => hub.agentUrl);
  const record = () => hub.store.state.nodes[node.identity.fingerprint];
  const a = await node.start();
  try {
    await waitFor('full inventory', () => record()?.inventoryHash);
    // The hub's copy drifts (a hand edit, a bug): it no longer holds what the node acknowledged.
    record()!.inventory = { 'os.name': 'debian' };
    record()!.inventoryHash = hashFlat({ 'os.name': 'debian' });
    node.state.facts = { ...node.state.facts, 'cpu.cores': 8 };
    await a.client.reporter.checkInventory();
    await waitFor('full inventory after the refresh', () => record()?.inventory?.['cpu.cores'] === 8 && record()?.inventory?.['custom.site.cabinet'] === '7');
    assert.deepEqual(inventoryModes(record()!.history), ['full', 'wrong-base', 'full']);
    assert.equal(record()!.inventoryHash, hashFlat(node.state.facts));
    await waitFor('refresh acknowledged', () => record()!.outstanding.length === 0 && record()!.acks.some((k) => k.type === 'inventory.refresh'));
  } finally {
    await a.stop();
    await hub.close();
  }
});
