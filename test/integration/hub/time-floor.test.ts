// The trusted time floor wired to the hub link: a node whose clock says 1970 takes the reference
// hub's time from the auth result into its floor, reports "clock behind" in its inventory (and
// the change when the clock is fixed), and a verified bundle's creation time raises it further;
// a later, older hub time never lowers it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startTestHub } from '../../support/hub-in-process.ts';
import { InventoryCollector } from '../../../agent/inventory/collector.ts';
import { wireSource } from '../../../agent/inventory/service.ts';
import { TimeFloor, TIME_FLOOR_FILE } from '../../../agent/time/floor.ts';
import { timeFloorFromVerifiedHead } from '../../../agent/time/verified-bundle.ts';
import { processRunner } from '../../../agent/platform/exec.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { MAX_FRAME_BYTES } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { startTestClient } from '../../support/hub-client.ts';

test('hub time raises the floor of a node booted in 1970; clock-behind reaches the hub; bundles raise it; it never falls', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-floor-'));
  await mkdir(join(dir, 'bundles'));
  let hub = await startTestHub(dir, { acceptAll: true });
  const port = Number(new URL(hub.hub.url).port);
  let wall = 42_000; // no RTC: 1970-01-01T00:00:42Z
  // Signed time (build or last bundle) an hour ago: hub time may lift the floor a small margin past it.
  const builtIn = Date.now() - 3_600_000;
  const floor = await TimeFloor.open(join(dir, 'node'), { now: () => wall, builtInFloorMs: builtIn, synchronised: () => false });
  const collector = new InventoryCollector({
    callTimeoutMs: 5000, scriptsDir: null, scriptTimeoutMs: 1000, runner: processRunner, probes: [],
    clock: floor.clock(), trustedTime: () => floor.trustedNow(),
  });
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, 'floor-node');
  const { client, stop } = await startTestClient({
    url: hub.hub.agentUrl, clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, identity, dir: join(dir, 'node', 'hub'),
    timeFloor: floor,
    source: { inventory: wireSource(collector), location: async () => null },
    timings: { inventoryIntervalS: 0 },
  });
  const record = () => hub.detail(identity.fingerprint);
  try {
    assert.equal(floor.floorMs, builtIn);
    const before = Date.now();
    await waitFor('floor raised from hub time', () => floor.floorMs > builtIn);
    assert.equal(floor.trustedNow().source, 'hub');
    assert.ok(floor.floorMs >= before - 1000 && floor.floorMs <= Date.now(), 'the hub clock of this test');
    assert.equal(JSON.parse(await readFile(join(dir, 'node', TIME_FLOOR_FILE), 'utf8')).floorMs, floor.floorMs, 'kept on disk');
    // Decisions use trusted time, not 1970.
    assert.ok(floor.clock().now() >= floor.floorMs);

    // The hub hears that this node's clock is behind …
    await waitFor('clock behind reported', async () => (await record())?.inventory?.['clock.behindFloor'] === true);
    // … and that it is fixed, as one diff.
    wall = Date.now() + 5000;
    await client.reporter.checkInventory();
    await waitFor('clock fixed reported', async () => (await record())?.inventory?.['clock.behindFloor'] === false);
    assert.deepEqual((await record())!.history.filter((h) => h.type === 'inventory').map((h) => h.mode), ['full', 'diff']);

    // A verified bundle made later than anything seen raises the floor (the update machine's hook).
    const created = Date.now() + 3600_000;
    await timeFloorFromVerifiedHead(floor, silentLogger())({ manifest: { created: new Date(created).toISOString() } });
    assert.equal(floor.floorMs, created);
    assert.equal(floor.trustedNow().source, 'bundle');

    // The hub restarts and says an earlier time: the floor does not fall.
    await hub.close();
    const restarted = Date.now();
    hub = await startTestHub(dir, { acceptAll: true, port });
    await waitFor('node back online', async () => ((await record())?.lastSeen ?? 0) >= restarted);
    await waitFor('auth handled', () => client.health());
    assert.equal(floor.floorMs, created);
    assert.equal((await TimeFloor.open(join(dir, 'node'), { builtInFloorMs: builtIn })).floorMs, created, 'and not on disk either');
  } finally {
    await stop();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});
