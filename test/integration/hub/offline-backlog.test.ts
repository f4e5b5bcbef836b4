// A node that was offline while things happened: everything journaled while the hub was gone
// arrives after it comes back, exactly once and in order, through the 32-report send window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startTestHub } from '../../support/hub-in-process.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { MAX_FRAME_BYTES } from '../../../shared/protocol/index.ts';
import type { UpdateReport, UpdatePort } from '../../../agent/hub/ports.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { startTestClient } from '../../support/hub-client.ts';

test('reports made while the hub was down are all delivered, in order, once it is back', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-offline-'));
  await mkdir(join(dir, 'bundles'));
  let hub = await startTestHub(dir, { acceptAll: true });
  const port = Number(new URL(hub.hub.url).port);
  const listeners = new Set<(e: UpdateReport) => void>();
  const update: UpdatePort = {
    offer: async () => ({ result: 'rejected', code: 'E_COMMAND_UNSUPPORTED' }),
    cancel: async () => false,
    status: () => null,
    onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
  };
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, 'offline-1');
  const { client, stop } = await startTestClient({
    url: hub.hub.agentUrl, clientOptions: { maxPayload: MAX_FRAME_BYTES }, identity, dir: join(dir, 'agent'),
    update, source: { inventory: async () => ({ a: 1 }), location: async () => null },
    timings: { pingIntervalMs: 500, authTimeoutMs: 2000, backoffBaseMs: 20, healthDeadlineMs: 500, outboxMaxBytes: 8 << 20, outboxMaxCount: 10_000 },
  });
  try {
    await waitFor('first inventory stored', async () => (await hub.detail(identity.fingerprint))?.ackedSeq === 1);
    await hub.close();
    await waitFor('link down', () => !client.link.isAuthenticated());
    const N = 500;
    for (let i = 1; i <= N; i++) listeners.forEach((l) => l({ type: 'state', deploymentId: 'd-off', state: `s-${i}` }));
    // 500 durable appends (fsync each): seconds alone, far longer beside other suites' disk I/O.
    await waitFor('journaled', () => client.outbox.lastSeq === N + 1, 90_000);
    // The first inventory's ack may have been in flight when the hub went away (stored there,
    // not yet acknowledged here): then it is pending too, and the hub dedups it on delivery.
    assert.ok([N, N + 1].includes(client.outbox.pendingCount), `nothing acknowledged while offline: ${client.outbox.pendingCount} pending`);

    hub = await startTestHub(dir, { acceptAll: true, port });
    const node = await waitFor('backlog delivered', async () => {
      const n = await hub.detail(identity.fingerprint);
      return n && n.ackedSeq === N + 1 ? n : null;
    }, 90_000);
    assert.deepEqual(node.history.map((h) => h.seq), Array.from({ length: N + 1 }, (_, i) => i + 1));
    assert.equal(node.deployment?.state, `s-${N}`, 'the hub ends on the last state');
    await waitFor('outbox drained', () => client.outbox.pendingCount === 0);
  } finally {
    await stop();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});
