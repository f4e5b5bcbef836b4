// readBundleIdentity: the identity an offer pins (PROTOCOL.md "offer.bundle").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, appendFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundleIdentity } from '../../../shared/bundle/identity.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, makeBundle, makeImage, TEST_COMPATIBLE, type MadeBundle } from '../../support/bundle-fixtures.ts';

let dir: string;
let bundle: MadeBundle;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-identity-'));
  const image = await makeImage(join(dir, 'img'), 150_000, 7);
  bundle = await makeBundle({ image, out: join(dir, 'b.bundle'), keys: await devKeys(['dev-a']), version: '2.0', release: 2 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('identity carries the sha256 of the stored manifest bytes, size, version, release, compatible', async () => {
  const id = await readBundleIdentity(bundle.path);
  const bytes = await readFile(bundle.path);
  const manifestSize = bundle.layout.entries[0]!.size;
  const expected = createHash('sha256').update(bytes.subarray(512, 512 + manifestSize)).digest('hex');
  assert.deepEqual({ ...id, compatible: [...id.compatible] }, {
    manifestSha256: expected,
    size: bytes.length,
    version: '2.0',
    release: 2,
    compatible: [TEST_COMPATIBLE],
  });
});

test('a cut or padded bundle is refused with a code', async () => {
  const cut = join(dir, 'cut.bundle');
  await copyFile(bundle.path, cut);
  await truncate(cut, bundle.layout.totalSize - 512);
  await assert.rejects(readBundleIdentity(cut), (e) => isOutpostError(e, 'E_BUNDLE_TRUNCATED'));
  const long = join(dir, 'long.bundle');
  await copyFile(bundle.path, long);
  await appendFile(long, Buffer.alloc(512));
  await assert.rejects(readBundleIdentity(long), (e) => isOutpostError(e, 'E_BUNDLE_TRAILING_DATA'));
  await assert.rejects(readBundleIdentity(join(dir, 'missing')), (e) => isOutpostError(e, 'E_BUNDLE_READ'));
});
