// The operator API refuses what it must: no token, a wrong or revoked token, a foreign Origin, a
// cross-site form post (no JSON content type). It listens on 127.0.0.1 by default.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../support/hub-in-process.ts';

let dir: string;
let t: TestHub;
let token: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-api-'));
  await mkdir(join(dir, 'bundles'));
  t = await startTestHub(dir, { allowedOrigins: ['https://dashboard.example'] });
  token = (await t.hub.store.createToken('ops', Date.now())).token;
});

after(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

const api = (path: string, init: RequestInit = {}) => fetch(`${t.hub.apiUrl}${path}`, init);
const codeOf = async (r: Response) => ((await r.json()) as { code: string }).code;

test('the operator API listens on loopback only by default', () => {
  assert.equal(new URL(t.hub.apiUrl).hostname, '127.0.0.1');
});

test('requests without a valid operator token are refused (401 E_API_AUTH)', async () => {
  for (const headers of [{}, { authorization: 'Bearer not-a-real-token-at-all' }, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, { cookie: `token=${token}` }]) {
    const r = await api('/admin/nodes', { headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(await codeOf(r), 'E_API_AUTH');
  }
  const post = await api('/admin/preauthorize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fingerprints: ['a'.repeat(64)] }) });
  assert.equal(post.status, 401);
  assert.deepEqual(await t.hub.store.listPreauthorized(), [], 'nothing changed');
  const ok = await api('/admin/nodes', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
});

test('a revoked token stops working at once', async () => {
  const { token: short, row } = await t.hub.store.createToken('temp', Date.now());
  assert.equal((await api('/admin/nodes', { headers: { authorization: `Bearer ${short}` } })).status, 200);
  await t.hub.store.revokeToken(row.id, Date.now());
  assert.equal((await api('/admin/nodes', { headers: { authorization: `Bearer ${short}` } })).status, 401);
});

test('no state change from a cross-site request: foreign Origin, form encodings and text/plain are refused', async () => {
  const fp = 'b'.repeat(64);
  const body = JSON.stringify({ fingerprints: [fp] });
  // What a browser page can send without a preflight: a form post or a "simple" fetch.
  const forged = [
    { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    { origin: 'https://evil.example', 'content-type': 'text/plain' },
    { origin: 'null', 'content-type': 'multipart/form-data; boundary=x' },
  ];
  for (const h of forged) {
    const r = await api('/admin/preauthorize', { method: 'POST', headers: h, body });
    assert.equal(r.status, 403, JSON.stringify(h));
    assert.equal(await codeOf(r), 'E_API_ORIGIN');
  }
  // Even with the token, a foreign origin is refused, and a body must be declared JSON.
  const withToken = await api('/admin/preauthorize', { method: 'POST', headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example', 'content-type': 'application/json' }, body });
  assert.equal(withToken.status, 403);
  const plain = await api('/admin/preauthorize', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body });
  assert.equal(plain.status, 415);
  assert.equal(await codeOf(plain), 'E_API_CONTENT_TYPE');
  assert.deepEqual(await t.hub.store.listPreauthorized(), [], 'nothing changed');
  // An allowed origin with the token and JSON works.
  const allowed = await api('/admin/preauthorize', { method: 'POST', headers: { authorization: `Bearer ${token}`, origin: 'https://dashboard.example', 'content-type': 'application/json' }, body });
  assert.equal(allowed.status, 200);
  assert.deepEqual(await t.hub.store.listPreauthorized(), [fp]);
});

test('unknown endpoints and methods answer with stable codes', async () => {
  const auth = { authorization: `Bearer ${token}` };
  assert.equal(await codeOf(await api('/admin/nope', { headers: auth })), 'E_API_NOT_FOUND');
  assert.equal(await codeOf(await api('/admin/accept', { headers: auth })), 'E_API_METHOD');
  assert.equal(await codeOf(await api('/admin/nodes?colour=red', { headers: auth })), 'E_API_REQUEST');
});
