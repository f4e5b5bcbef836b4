// Key files and in-place signing limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, parsePrivateKey, parsePublicKey } from '../../../shared/bundle/keys.ts';
import { addSignature } from '../../../shared/bundle/sign.ts';
import { isOutpostError, type ErrorCode } from '../../../shared/errors.ts';
import { readBundle } from '../../../agent/bundle/reader.ts';
import { storeFromDocument } from '../../../shared/bundle/trust.ts';
import { devKeys, makeBundle, makeImage, testPolicy, trustDocument } from '../../support/bundle-fixtures.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-keys-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);

test('key files: a JWK whose public part does not match its private part is refused', () => {
  const a = generateSigningKey('a');
  const b = generateSigningKey('b');
  const mixed = { ...(a.privateJwk as object), x: (b.publicJwk as { x: string }).x };
  assert.throws(() => parsePrivateKey(JSON.stringify(mixed)), code('E_KEY_FORMAT'));
  assert.equal(parsePrivateKey(JSON.stringify(a.privateJwk)).publicHex, a.publicHex);
  assert.throws(() => parsePrivateKey(JSON.stringify(a.publicJwk)), code('E_KEY_FORMAT'));
  assert.throws(() => parsePublicKey(JSON.stringify({ ...(a.publicJwk as object), kid: '../x' })), code('E_KEY_FORMAT'));
  assert.throws(() => parsePublicKey('-----BEGIN PUBLIC KEY-----'), code('E_KEY_FORMAT'));
  assert.throws(() => generateSigningKey('bad id'), code('E_KEY_FORMAT'));
});

test('signing adds up to 16 signatures, replaces a re-sign, then refuses with E_BUNDLE_SIGNATURE_FULL', async () => {
  const [devA] = await devKeys(['dev-a']);
  const image = await makeImage(join(dir, 'img'), 70_000, 5);
  const made = await makeBundle({ image, out: join(dir, 'b.bundle'), keys: [devA!] });
  const size = (await readFile(made.path)).length;
  const extra = Array.from({ length: 15 }, (_, i) => parsePrivateKey(JSON.stringify(generateSigningKey(`k${i}`).privateJwk)));
  for (const k of extra) await addSignature(made.path, k);
  assert.equal((await addSignature(made.path, devA!.key)).length, 16); // re-sign replaces, no growth
  await assert.rejects(addSignature(made.path, parsePrivateKey(JSON.stringify(generateSigningKey('one-more').privateJwk))), code('E_BUNDLE_SIGNATURE_FULL'));
  const bytes = await readFile(made.path);
  assert.equal(bytes.length, size);
  // all 16 verify under a 16-of-16 store
  const store = storeFromDocument(trustDocument([devA!, ...extra.map((k) => ({ id: k.id, publicHex: k.publicHex, privatePath: '', publicPath: '', key: k }))], { threshold: 16 }));
  const head = await readBundle((async function* () { yield bytes; })(), testPolicy(store), { async begin() {}, async block() {}, async end() {} });
  assert.equal(head.signers.length, 16);
});
