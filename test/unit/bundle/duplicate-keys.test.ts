// Regression: a signed manifest with a repeated key was accepted (JSON.parse keeps the last), so
// the same signed bytes could mean release 1 to one reader and release 100 to another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonNoDuplicates } from '../../../shared/json/no-duplicate-keys.ts';
import { signManifest } from '../../../shared/bundle/create.ts';
import { verifyHeadEntries } from '../../../shared/bundle/verify-head.ts';
import { parseTrustDocument, storeFromDocument } from '../../../shared/bundle/trust.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, trustDocument, TEST_COMPATIBLE } from '../../support/bundle-fixtures.ts';

test('parseJsonNoDuplicates refuses a repeated key at any depth, also when spelled with escapes', () => {
  assert.deepEqual(parseJsonNoDuplicates('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}'), { a: 1, b: { a: 2 }, c: [{ a: 3 }, { a: 4 }] });
  assert.deepEqual(parseJsonNoDuplicates('{"s":"a\\"b,{\\"x\\":1","t":"}"}'), { s: 'a"b,{"x":1', t: '}' });
  for (const bad of ['{"a":1,"a":2}', '{"x":{"k":1,"k":1}}', '[{"z":[],"z":0}]', '{"a":1,"\\u0061":2}']) {
    assert.throws(() => parseJsonNoDuplicates(bad), /duplicate key/, bad);
  }
  assert.throws(() => parseJsonNoDuplicates('{"a":'), SyntaxError);
});

test('a validly signed manifest with a duplicate key is refused (E_BUNDLE_MANIFEST)', async () => {
  const keys = await devKeys(['dev-a']);
  const trust = storeFromDocument(trustDocument(keys));
  const payload = { name: 'rootfs.img', slotClass: 'rootfs', size: 65536, sha256: 'a'.repeat(64), blockSize: 65536, blocks: 1, indexSha256: 'b'.repeat(64) };
  const body = (releases: string) => `{"format":1,"version":"2.0",${releases},"compatible":["${TEST_COMPATIBLE}"],"created":"2026-11-21T12:00:00Z","payloads":[${JSON.stringify(payload)}]}`;
  const good = Buffer.from(body('"release":2'));
  assert.equal(verifyHeadEntries(trust, { releaseFloor: 0, compatible: [TEST_COMPATIBLE] }, good, signManifest(good, keys.map((k) => k.key))).manifest.release, 2);
  const twice = Buffer.from(body('"release":2,"release":100'));
  assert.throws(
    () => verifyHeadEntries(trust, { releaseFloor: 0, compatible: [TEST_COMPATIBLE] }, twice, signManifest(twice, keys.map((k) => k.key))),
    (e) => isOutpostError(e, 'E_BUNDLE_MANIFEST') && /duplicate key "release"/.test(e.message),
  );
});

test('a trust document with a duplicate key is refused', async () => {
  const keys = await devKeys(['dev-a']);
  const text = JSON.stringify(trustDocument(keys)).replace('"threshold":1', '"threshold":1,"threshold":0');
  assert.throws(() => parseTrustDocument(text), (e) => isOutpostError(e) && /duplicate key "threshold"/.test(e.message));
});
