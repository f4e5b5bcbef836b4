// Forward compatibility, both ways (shared/PROTOCOL.md §2): a message type the receiver does not
// know is answered with `error` E_PROTO_UNKNOWN_TYPE and the link stays up; keys inside `ext`
// are ignored. Agent side: the real agent process against a hub speaking "from the future";
// hub side: the reference hub against a raw client doing the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { authMessage, encodeHubMessage, hubHostOf } from '../../../shared/protocol/index.ts';
import { startHubProcess, waitFor } from '../../support/dev-hub.ts';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent } from './agent-process.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
type Msg = Record<string, unknown> & { type: string };

test('agent: an unknown message type gets E_PROTO_UNKNOWN_TYPE, ext is ignored, the link stays up', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fwd-agent-'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const got: Msg[] = [];
  let connections = 0;
  let closed = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('close', () => closed++);
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Msg;
      got.push(m);
      if (m.type === 'hello') ws.send(JSON.stringify({ v: 1, type: 'challenge', id: 'h-1', nonce: Buffer.alloc(32, 7).toString('base64'), ext: { future: [1, 2] } }));
      if (m.type === 'auth') {
        ws.send(encodeHubMessage({ v: 1, type: 'auth.result', id: 'h-2', result: 'accepted', ackedSeq: 0, node: 'n', ext: { region: 'eu-1' } }));
        ws.send(JSON.stringify({ v: 1, type: 'hub.future-command', id: 'h-77', whatever: { deep: true } }));
        ws.send(JSON.stringify({ v: 1, type: 'inventory.refresh', id: 'h-78', ext: { priority: 'high', nested: { a: 1 } } }));
      }
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/agent`;
  // A slow heartbeat: collecting the inventory on a busy machine must not look like a dead link here.
  const agent = spawnAgent([BIN, 'run', '--config', await writeAgentConfig(join(dir, 'node'), url, { pingIntervalMs: 30_000 })]);
  try {
    await waitFor('the ack of the command with ext', () => got.some((m) => m.type === 'ack' && m.ref === 'h-78'), 90_000);
    const err = got.find((m) => m.type === 'error' && m.ref === 'h-77');
    assert.ok(err, 'the unknown type is answered');
    assert.equal(err.code, 'E_PROTO_UNKNOWN_TYPE');
    assert.equal(got.find((m) => m.type === 'ack' && m.ref === 'h-78')!.result, 'accepted', 'a command with ext is handled');
    assert.equal(connections, 1, 'one connection throughout');
    assert.equal(closed, 0, 'the link stayed up');
    assert.ok(!got.some((m) => m.type === 'error' && m.ref !== 'h-77'), 'no other error');
  } finally {
    await agent.stop();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});

test('reference hub: an unknown message type gets E_PROTO_UNKNOWN_TYPE, ext is ignored, the link stays up', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fwd-hub-'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: dir, args: ['--accept-all'] });
  const ws = new WebSocket(hub.agentUrl);
  const got: Msg[] = [];
  let closed = false;
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as Msg));
  ws.on('close', () => (closed = true));
  try {
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
    const deviceId = 'fwd-compat-1';
    ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'a-1', deviceId, agentVersion: '9.9.9', publicKey: raw, capabilities: ['inventory'], ext: { newField: 'x' } }));
    await waitFor('challenge', () => got.some((m) => m.type === 'challenge'), 30_000);
    const nonce = got.find((m) => m.type === 'challenge')!.nonce as string;
    ws.send(JSON.stringify({ v: 1, type: 'auth', id: 'a-2', signature: sign(null, authMessage(nonce, deviceId, hubHostOf(hub.agentUrl)), privateKey).toString('base64') }));
    await waitFor('auth.result', () => got.some((m) => m.type === 'auth.result'), 30_000);
    assert.equal(got.find((m) => m.type === 'auth.result')!.result, 'accepted', JSON.stringify(got));
    ws.send(JSON.stringify({ v: 1, type: 'agent.future-report', id: 'a-3', payload: 1 }));
    ws.send(JSON.stringify({ v: 1, type: 'location', id: 'a-4', seq: 1, at: Date.now(), lat: 1, lon: 2, source: 'survey', fixAt: Date.now(), ext: { battery: 0.5 } }));
    await waitFor('report.ack', () => got.some((m) => m.type === 'report.ack'), 30_000);
    const err = got.find((m) => m.type === 'error' && m.ref === 'a-3');
    assert.ok(err, `the unknown type is answered: ${JSON.stringify(got)}`);
    assert.equal(err.code, 'E_PROTO_UNKNOWN_TYPE');
    assert.equal(got.find((m) => m.type === 'report.ack')!.upTo, 1, 'the report with ext is stored');
    assert.equal(closed, false, 'the link stayed up');
  } finally {
    ws.terminate();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
