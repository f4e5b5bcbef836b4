// A hostile hub: after a proper handshake it sends >10,000 malformed, mutated and oversized
// frames at the real agent session (in this process, so its heap can be inspected). The agent
// must answer each (error or ack, pointing at the frame's id when it had a readable one) or
// drop it, stay connected and working, and not grow its memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { HubClient } from '../../../agent/hub/client.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { MAX_FRAME_BYTES, encodeHubMessage, type HubMessage } from '../../../shared/protocol/index.ts';
import type { UpdatePort } from '../../../agent/hub/ports.ts';
import { waitFor } from '../../support/dev-hub.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE: unknown[] = [null, -1, 0, 1.5, 1e308, -1e308, '', 'x'.repeat(5000), {}, [], true, '__proto__', { __proto__: { x: 1 } }, [[[[[]]]]], 'E_', '99:99', 'file:///etc/passwd', '\u0000\uffff'];

const BASES: HubMessage[] = [
  { v: 1, type: 'offer', id: 'x', deploymentId: 'd', bundle: { url: 'http://127.0.0.1:9/b', size: 10, sha256: 'a'.repeat(64), manifestSha256: 'b'.repeat(64) }, version: '1', release: '1', windows: [{ cron: '0 1 * * 1', durationMinutes: 60, timezone: 'UTC' }] },
  { v: 1, type: 'cancel', id: 'x', deploymentId: 'd' },
  { v: 1, type: 'reboot', id: 'x', reason: 'r' },
  { v: 1, type: 'inventory.refresh', id: 'x' },
  { v: 1, type: 'config.push', id: 'x', config: { reportIntervals: { inventoryS: 3600 }, healthChecks: [{ name: 'h', timeoutS: 1 }] } },
  { v: 1, type: 'challenge', id: 'x', nonce: Buffer.alloc(32).toString('base64') },
  { v: 1, type: 'auth.result', id: 'x', result: 'accepted', ackedSeq: 0, node: 'n' },
];

/** A valid message with one field deleted, replaced by a hostile value, or one unknown field added. */
function mutate(r: () => number, id: string): string {
  const m = structuredClone(BASES[Math.floor(r() * BASES.length)]!) as unknown as Record<string, unknown>;
  m.id = id;
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const keys = Object.keys(m).filter((k) => k !== 'id');
  const op = r();
  let target: Record<string, unknown> = m;
  const nested = keys.filter((k) => typeof m[k] === 'object' && m[k] !== null && !Array.isArray(m[k]));
  if (nested.length && r() < 0.4) target = m[pick(nested)] as Record<string, unknown>;
  const tk = Object.keys(target).filter((k) => target !== m || k !== 'id');
  if (op < 0.3 && tk.length) delete target[pick(tk)];
  else if (op < 0.85 && tk.length) target[pick(tk)] = pick(HOSTILE);
  else target[`extra${Math.floor(r() * 5)}`] = pick(HOSTILE);
  return JSON.stringify(m);
}

/** Frames with no readable id: the agent can only answer with an unreferenced error. */
function garbage(r: () => number, i: number): string | Buffer {
  switch (i % 8) {
    case 0: return '{"v":1,"type":"reboot","id":';
    case 1: return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
    case 2: return '['.repeat(2000 + Math.floor(r() * 3000));
    case 3: return JSON.stringify([1, 2, 3]);
    case 4: return JSON.stringify({ v: 1, type: 'reboot', id: 'has space' });
    case 5: return JSON.stringify({ v: 1, type: 'reboot', id: 'x'.repeat(65) });
    case 6: return 'null';
    default: return String(r());
  }
}

test('10,000+ hostile frames: every one answered or dropped, agent stays up, heap bounded', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-fuzz-'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const ac = new AbortController();
  let running: Promise<void> | null = null;
  try {
    await new Promise((r) => wss.once('listening', r));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    let conn: WebSocket | null = null;
    let connections = 0;
    const replies: Array<Record<string, unknown>> = [];
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'hello') ws.send(encodeHubMessage({ v: 1, type: 'challenge', id: 'h-c', nonce: Buffer.alloc(32, connections).toString('base64') }));
        else if (m.type === 'auth') {
          ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'h-a', result: 'accepted', ackedSeq: 0, node: 'fuzz' }));
          conn = ws;
        } else if (m.type === 'error' || m.type === 'ack') replies.push(m);
        else if (typeof m.seq === 'number') ws.send(encodeHubMessage({ v: 1, type: 'report.ack', id: `h-r${m.seq}`, upTo: m.seq }));
      });
    });
    const offers: string[] = [];
    const update: UpdatePort = {
      async offer(o) {
        offers.push(o.deploymentId);
        return { result: 'accepted' };
      },
      async cancel() {
        return false;
      },
      status: () => null,
      onEvent: () => () => {},
    };
    const identity = await loadOrCreateIdentity(join(dir, 'id'), 'fuzz-1');
    const client = await HubClient.open({
      url, clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, identity, dir: join(dir, 'hub'), agentVersion: '0.1.0',
      update, rebooter: null,
      source: { inventory: async () => ({ k: 1 }), location: async () => null },
      timings: {
        pingIntervalMs: 5_000, authTimeoutMs: 5_000, backoffBaseMs: 50, backoffCapMs: 200, stableAfterMs: 60_000,
        inventoryIntervalS: 3600, locationIntervalS: 3600, healthDeadlineMs: 2_000, outboxMaxBytes: 1 << 20, outboxMaxCount: 1000,
      },
      log: silentLogger(),
    });
    running = client.run(ac.signal);
    await waitFor('authenticated', () => conn !== null && client.link.isAuthenticated());
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    const r = rng(20261121);
    const withId: string[] = [];
    let withoutId = 0;
    const TOTAL = 10_400;
    const BATCH = 400;
    for (let sent = 0; sent < TOTAL; sent += BATCH) {
      const expected = replies.length + BATCH;
      for (let i = sent; i < sent + BATCH; i++) {
        if (i % 4 === 0) {
          conn!.send(garbage(r, i));
          withoutId++;
        } else {
          const id = `f-${i}`;
          withId.push(id);
          conn!.send(mutate(r, id));
        }
      }
      // Waiting per batch keeps the agent's send buffer small, so no reply is dropped for backpressure.
      await waitFor(`replies to batch at ${sent}`, () => replies.length >= expected, 30_000, { everyMs: 5 });
    }
    assert.equal(connections, 1, 'no hostile frame closed the link');
    const refd = new Map<string, number>();
    for (const m of replies) if (typeof m.ref === 'string') refd.set(m.ref, (refd.get(m.ref) ?? 0) + 1);
    for (const id of withId) assert.equal(refd.get(id), 1, `exactly one answer for ${id}`);
    assert.equal(replies.filter((m) => m.ref === undefined).length, withoutId, 'one unreferenced error per unreadable frame');
    const acks = replies.filter((m) => m.type === 'ack');
    assert.ok(acks.length > 0 && acks.length < withId.length / 2, 'some mutations stayed valid and were acknowledged, most were refused');

    // Still working: a real command is acknowledged and its result arrives as a durable report.
    conn!.send(encodeHubMessage({ v: 1, type: 'inventory.refresh', id: 'final-refresh' }));
    await waitFor('final ack', () => replies.some((m) => m.ref === 'final-refresh' && m.result === 'accepted'));
    assert.equal(await client.health(), true, 'hub-reachable health check still passes');

    gc();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 32 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);

    // Oversized frames: the agent drops the link (1009) and redials; nothing else happens.
    for (let i = 0; i < 3; i++) {
      const before = connections;
      conn!.send('x'.repeat(MAX_FRAME_BYTES + 1));
      await waitFor('redial after oversize frame', () => connections === before + 1 && client.link.isAuthenticated());
    }
  } finally {
    ac.abort();
    await running;
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
