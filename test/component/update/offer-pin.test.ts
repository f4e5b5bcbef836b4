// Regression: an offer did not pin its bundle. Whoever served the URL could substitute any other
// validly signed bundle at or above the floor; it was installed and raised the floor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { readBundleIdentity } from '../../../shared/bundle/identity.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
let node: TestNode;
before(async () => {
  kit = await makeKit({ imageSize: 512 << 10, blockSize: 64 << 10 });
  node = await TestNode.create({ kit, slotSize: 1 << 20 });
});
after(async () => {
  await node.dispose();
  await kit.dispose();
});

test('a validly signed bundle other than the pinned one is refused (E_OFFER_MISMATCH): slot untouched, floor unchanged', async () => {
  const offered = await readBundleIdentity(kit.older); // the bundle the offer named
  const envBefore = await node.env().read();
  const slotBefore = await node.holds('B');
  // The server hands out the other (newer, validly signed) bundle instead.
  const r = await node.cli(['install', kit.bundle, '--expect-sha256', offered.manifestSha256]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /^E_OFFER_MISMATCH: /m);
  const j = await node.journal();
  assert.equal(j?.state, 'failed');
  assert.equal(j?.error?.code, 'E_OFFER_MISMATCH');
  assert.deepEqual(await node.env().read(), envBefore, 'the boot env is untouched (target not even marked bad)');
  assert.equal(await node.holds('B'), slotBefore, 'not a block written');
  await assert.rejects(readFile(join(node.stateDir, 'release-floor'), 'utf8'), { code: 'ENOENT' }, 'the floor did not move');
  // The pinned bundle itself is accepted.
  const right = await readBundleIdentity(kit.bundle);
  const ok = await node.cli(['install', kit.bundle, '--expect-sha256', right.manifestSha256, '--no-reboot']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await node.holds('B'), 'new');
});
