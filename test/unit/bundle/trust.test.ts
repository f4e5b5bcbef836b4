// Trust store: k of n, revocation, rotation chains on disk, and what a node refuses to load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installRotation, loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { applyRotation, encodeTrustDocument, parseTrustDocument, storeFromDocument, signTrustDocument } from '../../../shared/bundle/trust.ts';
import { isOutpostError, type ErrorCode } from '../../../shared/errors.ts';
import { devKeys, makeKeys, rotationDocument, trustDocument, type TestKey } from '../../support/bundle-fixtures.ts';

let dir: string;
let dev: TestKey[];
let fresh: TestKey[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-trust-'));
  dev = await devKeys();
  fresh = await makeKeys(join(dir, 'keys'), ['n1', 'n2']);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);

test('a directory of *.pub keys is threshold 1; one .pub file works too', async () => {
  const d = join(dir, 'pubs');
  await mkdir(d);
  for (const k of dev.slice(0, 2)) await copyFile(k.publicPath, join(d, `${k.id}.pub`));
  const s = await loadTrustStore(d);
  assert.deepEqual([...s.keys.keys()].sort(), ['dev-a', 'dev-b']);
  assert.equal(s.threshold, 1);
  assert.equal((await loadTrustStore(dev[0]!.publicPath)).keys.size, 1);
  await mkdir(join(dir, 'empty'));
  await assert.rejects(loadTrustStore(join(dir, 'empty')), code('E_TRUST_READ'));
  await assert.rejects(loadTrustStore(join(dir, 'missing')), code('E_TRUST_READ'));
  // a private key file is not a trust store
  await assert.rejects(loadTrustStore(dev[0]!.privatePath), code('E_KEY_FORMAT'));
});

test('trust documents are validated strictly', () => {
  const doc = trustDocument(dev, { threshold: 2 });
  const text = encodeTrustDocument(doc);
  assert.equal(parseTrustDocument(text).threshold, 2);
  const bad = (patch: object) => () => parseTrustDocument(JSON.stringify({ ...JSON.parse(text), ...patch }));
  assert.throws(bad({ threshold: 4 }), code('E_TRUST_FORMAT'));
  assert.throws(bad({ threshold: 0 }), code('E_TRUST_FORMAT'));
  assert.throws(bad({ revoked: ['dev-a'] }), code('E_TRUST_FORMAT')); // both trusted and revoked
  assert.throws(bad({ keys: [] }), code('E_TRUST_FORMAT'));
  assert.throws(bad({ extra: 1 }), code('E_TRUST_FORMAT'));
  assert.throws(bad({ keys: [{ id: 'x', publicKey: 'AB'.repeat(32) }] }), code('E_TRUST_FORMAT'));
  assert.throws(() => parseTrustDocument('{'), code('E_TRUST_FORMAT'));
});

test('rotation needs the current threshold, a higher version, and keeps revocations', () => {
  const current = storeFromDocument(trustDocument(dev, { threshold: 2, revoked: ['old-x'] }));
  const next = trustDocument(fresh, { version: 2, threshold: 1, revoked: ['old-x', 'dev-c'] });
  assert.throws(() => applyRotation(current, rotationDocument(next, dev.slice(0, 1))), code('E_TRUST_ROTATION'));
  const ok = applyRotation(current, rotationDocument(next, dev.slice(0, 2)));
  assert.deepEqual([...ok.keys.keys()], ['n1', 'n2']);
  // signatures by the new keys do not count: only the current store can vouch for its successor
  assert.throws(() => applyRotation(current, rotationDocument(next, fresh)), code('E_TRUST_ROTATION'));
  // same version is a replay, not a rotation
  assert.throws(() => applyRotation(current, rotationDocument(trustDocument(fresh, { version: 1, revoked: ['old-x'] }), dev)), code('E_TRUST_ROTATION'));
  // dropping a revocation would let a compromised key back in
  assert.throws(() => applyRotation(current, rotationDocument(trustDocument(fresh, { version: 2 }), dev)), code('E_TRUST_ROTATION'));
  // a tampered body breaks the signatures
  const signed = rotationDocument(next, dev.slice(0, 2));
  const tampered = { ...signed, threshold: 2 };
  assert.throws(() => applyRotation(current, tampered), code('E_TRUST_ROTATION'));
  // a revoked key's signature does not count towards the threshold
  const withRevoked = storeFromDocument(trustDocument(dev.slice(0, 2), { threshold: 1, revoked: ['dev-c'] }));
  assert.throws(() => applyRotation(withRevoked, rotationDocument(trustDocument(fresh, { version: 2, revoked: ['dev-c'] }), [dev[2]!])), code('E_TRUST_ROTATION'));
});

test('a trust directory follows a chain of rotations; installRotation only stores valid ones', async () => {
  const d = join(dir, 'chain');
  await mkdir(d);
  await writeFile(join(d, 'root.json'), encodeTrustDocument(trustDocument(dev, { threshold: 2 })));
  const v2 = rotationDocument(trustDocument(fresh, { version: 2, threshold: 2 }), dev.slice(1, 3));
  const v3 = rotationDocument(trustDocument([fresh[1]!], { version: 3, revoked: ['n1'] }), fresh);
  // out of order arrival: v3 cannot be verified before v2 is installed
  await assert.rejects(installRotation(d, encodeTrustDocument(v3)), code('E_TRUST_ROTATION'));
  assert.deepEqual((await readdir(d)).sort(), ['root.json']);
  await installRotation(d, encodeTrustDocument(v2));
  const s3 = await installRotation(d, encodeTrustDocument(v3));
  assert.equal(s3.version, 3);
  const loaded = await loadTrustStore(d);
  assert.equal(loaded.version, 3);
  assert.deepEqual([...loaded.keys.keys()], ['n2']);
  assert.ok(loaded.revoked.has('n1'));
  // a forged rotation file dropped into the directory stops the load instead of being trusted
  await writeFile(join(d, 'rotation-4.json'), encodeTrustDocument(signTrustDocument(trustDocument(dev, { version: 4, revoked: ['n1'] }), dev[0]!.key)));
  await assert.rejects(loadTrustStore(d), code('E_TRUST_ROTATION'));
});
