// Regression: the auth signature did not bind the hub it was made for, so a hostile hub could
// relay a node's challenge to another hub and log in there as that node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { authMessage, hubHostOf } from '../../../shared/protocol/index.ts';
import { startHubProcess, waitFor } from '../../support/dev-hub.ts';

type Msg = Record<string, unknown>;

async function login(url: string, signFor: string): Promise<Msg> {
  const ws = new WebSocket(url);
  const got: Msg[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as Msg));
  try {
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
    ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'a-1', deviceId: 'relay-1', agentVersion: '0.1.0', publicKey: raw, capabilities: [] }));
    await waitFor('challenge', () => got.some((m) => m.type === 'challenge'), 30_000);
    const nonce = got.find((m) => m.type === 'challenge')!.nonce as string;
    ws.send(JSON.stringify({ v: 1, type: 'auth', id: 'a-2', signature: sign(null, authMessage(nonce, 'relay-1', signFor), privateKey).toString('base64') }));
    return await waitFor('auth.result', () => got.find((m) => m.type === 'auth.result'), 30_000);
  } finally {
    ws.terminate();
  }
}

test('a signature made for another hub is refused (E_AUTH_SIGNATURE); one for this hub is accepted', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'auth-host-'));
  await mkdir(join(dir, 'bundles'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--accept-all'] });
  try {
    const relayed = await login(hub.agentUrl, 'evil-hub.example.com');
    assert.equal(relayed.result, 'rejected');
    assert.equal(relayed.code, 'E_AUTH_SIGNATURE');
    const direct = await login(hub.agentUrl, hubHostOf(hub.agentUrl));
    assert.equal(direct.result, 'accepted', JSON.stringify(direct));
  } finally {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
