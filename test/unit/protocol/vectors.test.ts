// shared/PROTOCOL.md's test vectors, checked against the codec and the agent's own code, so the
// values a hub author tests against are the ones the agent produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authMessage, decodeAgentMessage, encodeAgentMessage, hubHostOf } from '../../../shared/protocol/index.ts';
import { hashFlat } from '../../../agent/inventory/hash.ts';
import { canonicalJson } from '../../../agent/inventory/canonical-json.ts';

const DOC = readFileSync(join(import.meta.dirname, '../../../shared/PROTOCOL.md'), 'utf8');

function vector<T>(name: string): T {
  const m = new RegExp(`<!-- vector: ${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(DOC);
  assert.ok(m, `PROTOCOL.md has no vector "${name}"`);
  return JSON.parse(m[1]!) as T;
}

test('auth vector: key from the seed, fingerprint, signed text and signature', () => {
  const v = vector<{ seedHex: string; publicKey: string; fingerprint: string; deviceId: string; nonce: string; hubUrl: string; hubHost: string; signedText: string; signature: string }>('auth');
  const seed = Buffer.from(v.seedHex, 'hex');
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(key);
  const raw = pub.export({ format: 'der', type: 'spki' }).subarray(12);
  assert.equal(raw.toString('base64'), v.publicKey);
  assert.equal(createHash('sha256').update(raw).digest('hex'), v.fingerprint);
  assert.equal(hubHostOf(v.hubUrl), v.hubHost);
  const text = authMessage(v.nonce, v.deviceId, v.hubHost);
  assert.equal(text.toString('utf8'), v.signedText);
  assert.equal(sign(null, text, key).toString('base64'), v.signature);
  assert.ok(verify(null, text, pub, Buffer.from(v.signature, 'base64')));
  // The messages carrying them pass the codec both ways.
  const hello = { v: 1 as const, type: 'hello' as const, id: 'a-1', deviceId: v.deviceId, agentVersion: '0.1.0', publicKey: v.publicKey, capabilities: ['update'] };
  const auth = { v: 1 as const, type: 'auth' as const, id: 'a-2', signature: v.signature };
  for (const m of [hello, auth]) assert.equal(decodeAgentMessage(encodeAgentMessage(m as never)).ok, true);
});

test('inventory-hash vector: canonical JSON and hash, with the agent and independently', () => {
  const v = vector<{ inventory: Record<string, string | number | boolean | null>; canonical: string; hash: string }>('inventory-hash');
  assert.equal(canonicalJson(v.inventory as never), v.canonical);
  assert.equal(hashFlat(v.inventory), v.hash);
  assert.equal('sha256:' + createHash('sha256').update(Buffer.from(v.canonical, 'utf8')).digest('hex'), v.hash);
  // Sorting is by UTF-16 code units, the same as JavaScript's default sort.
  assert.deepEqual(Object.keys(JSON.parse(v.canonical)), Object.keys(v.inventory).sort());
  const report = { v: 1, type: 'inventory', id: 'r-1', seq: 1, at: 0, mode: 'full', hash: v.hash, data: v.inventory };
  assert.equal(decodeAgentMessage(JSON.stringify(report)).ok, true);
});
