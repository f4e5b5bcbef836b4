// The link against small real websocket servers on 127.0.0.1: redial delays, the backoff reset
// after a stable period, and the heartbeat that terminates a silent connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { redialDelay } from '../../../agent/hub/connection.ts';
import { HubClient } from '../../../agent/hub/client.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { createLogger } from '../../../agent/log/logger.ts';
import { encodeHubMessage } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';

const o = { backoffBaseMs: 1000, backoffCapMs: 60_000 };
const half = () => 0.5;

test('redial delay: full jitter doubles per attempt up to the cap; hints and pending are floors', () => {
  const closed = { kind: 'closed', authenticated: false, code: 1006, reason: '' } as const;
  assert.deepEqual([0, 1, 2, 3].map((a) => redialDelay(closed, a, o, half)), [500, 1000, 2000, 4000]);
  assert.equal(redialDelay(closed, 30, o, half), 30_000, 'capped');
  assert.equal(redialDelay(closed, 5, o, () => 0), 0, 'full jitter reaches zero');
  assert.equal(redialDelay({ kind: 'backoff', authenticated: true, retryAfterS: 120 }, 0, o, half), 61_000, 'a backoff hint is spread over its whole interval, plus the base');
  assert.equal(redialDelay({ kind: 'backoff', authenticated: true, retryAfterS: 120 }, 4, o, () => 0), 1000, 'as early as the base');
  assert.equal(redialDelay({ kind: 'backoff', authenticated: true, retryAfterS: 120 }, 4, o, () => 0.999_99), 120_998);
  assert.equal(redialDelay({ kind: 'pending', retryAfterS: 30 }, 2, o, () => 0), 30_000);
  assert.equal(redialDelay({ kind: 'rejected', code: 'E_AUTH_SIGNATURE', message: '' }, 0, o, () => 0), 60_000, 'rejected: wait the cap');
});

/** A hub that authenticates anyone; `behave` decides what happens after that. */
async function fakeHub(behave: (ws: WebSocket) => void, options: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  await new Promise((r) => wss.once('listening', r));
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'hello') ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'c', nonce: Buffer.alloc(32, 1).toString('base64') }));
      if (m.type === 'auth') {
        ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'r', result: 'accepted', ackedSeq: 0, node: 'n' }));
        behave(ws);
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

async function client(url: string, dir: string, timings: { stableAfterMs?: number; pingIntervalMs?: number }) {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } });
  const c = await HubClient.open({
    url, clientOptions: {}, identity: identityFromKey(generateKeyPairSync('ed25519').privateKey, null), dir, agentVersion: '0.1.0',
    update: null, rebooter: null, source: null,
    timings: {
      pingIntervalMs: timings.pingIntervalMs ?? 10_000, authTimeoutMs: 2000, backoffBaseMs: 20, backoffCapMs: 10_000, stableAfterMs: timings.stableAfterMs ?? 60_000,
      inventoryIntervalS: 3600, locationIntervalS: 3600, healthDeadlineMs: 500, outboxMaxBytes: 1 << 20, outboxMaxCount: 100,
    },
    log: createLogger({ level: 'debug', out }),
    random: () => 0.01,
  });
  const ac = new AbortController();
  const running = c.run(ac.signal);
  return { lines, attempts: () => lines.filter((l) => l.msg === 'hub link down, redialling').map((l) => l.attempt), stop: async () => { ac.abort(); await running; } };
}

test('a flapping hub grows the backoff; a link that stayed up past stableAfterMs resets it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'link-'));
  const hub = await fakeHub((ws) => setTimeout(() => ws.close(1012, 'restart'), 30));
  try {
    const flapping = await client(hub.url, join(dir, 'a'), { stableAfterMs: 60_000 });
    await waitFor('4 redials', () => flapping.attempts().length >= 4);
    await flapping.stop();
    assert.deepEqual(flapping.attempts().slice(0, 4), [1, 2, 3, 4]);
    const stable = await client(hub.url, join(dir, 'b'), { stableAfterMs: 0 });
    await waitFor('4 redials', () => stable.attempts().length >= 4);
    await stable.stop();
    assert.deepEqual(stable.attempts().slice(0, 4), [1, 1, 1, 1]);
  } finally {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a hub that stops answering pings is terminated and redialled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'link-'));
  const hub = await fakeHub(() => {}, { autoPong: false });
  try {
    const c = await client(hub.url, join(dir, 'a'), { pingIntervalMs: 100 });
    await waitFor('silence detected', () => c.lines.some((l) => l.msg === 'hub link silent, terminating'));
    await waitFor('redialled', () => hub.connections() >= 2);
    await c.stop();
  } finally {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});
