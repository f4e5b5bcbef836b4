// Regression: a node that kept its key but lost its outbox must not be muted by the hub's
// higher watermark (before: 7 reports journalled, 0 sent until the counter caught up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { HubClient } from '../../../agent/hub/client.ts';
import { Outbox } from '../../../agent/hub/outbox.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { encodeHubMessage } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';

test('auth.result ackedSeq above the node\'s last seq: the node renumbers past it, reports, and its reports reach the hub', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'acked-ahead-'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const received: Array<Record<string, unknown>> = [];
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      received.push(m);
      if (m.type === 'hello') ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'c', nonce: Buffer.alloc(32, 1).toString('base64') }));
      if (m.type === 'auth') ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'r', result: 'accepted', ackedSeq: 500, node: 'n' }));
    });
  });
  const ac = new AbortController();
  let running: Promise<void> | null = null;
  try {
    const box = await Outbox.open(join(dir, 'outbox'), { maxBytes: 1 << 20, maxCount: 100 }, silentLogger());
    for (let i = 1; i <= 7; i++) await box.append({ type: 'update.state', at: i, deploymentId: 'd-1', state: `s${i}` });
    await box.close();
    const c = await HubClient.open({
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, clientOptions: {}, identity: identityFromKey(generateKeyPairSync('ed25519').privateKey, null), dir, agentVersion: '0.1.0',
      update: null, rebooter: null, source: null,
      timings: {
        pingIntervalMs: 10_000, authTimeoutMs: 5000, backoffBaseMs: 20, backoffCapMs: 10_000, stableAfterMs: 60_000,
        inventoryIntervalS: 3600, locationIntervalS: 3600, healthDeadlineMs: 500, outboxMaxBytes: 1 << 20, outboxMaxCount: 100,
      },
      log: silentLogger(),
    });
    running = c.run(ac.signal);
    await waitFor('7 reports at the hub', () => received.filter((m) => m.type === 'update.state').length >= 7, 30_000);
    const seqs = received.filter((m) => m.type === 'update.state').map((m) => m.seq);
    assert.deepEqual(seqs, [501, 502, 503, 504, 505, 506, 507]);
    const err = received.find((m) => m.type === 'error');
    assert.equal(err?.code, 'E_OUTBOX_AHEAD');
  } finally {
    ac.abort();
    await running;
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
