// Finding 13: deleting rotation-N.json silently rolled the node back to the keys rotation N
// replaced. The highest trust version loaded is kept in the state dir; an older store is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTrustDocument } from '../../../shared/bundle/trust.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { loadTrustStoreWithMark, readTrustMark, TRUST_MARK_FILE } from '../../../agent/bundle/trust-mark.ts';
import { devKeys, makeKeys, rotationDocument, trustDocument } from '../../support/bundle-fixtures.ts';

const dir = await mkdtemp(join(tmpdir(), 'trust-mark-'));
after(() => rm(dir, { recursive: true, force: true }));

async function chain(name: string) {
  const trust = join(dir, name, 'trust');
  const state = join(dir, name, 'state');
  await mkdir(trust, { recursive: true });
  const dev = await devKeys();
  const fresh = await makeKeys(join(dir, name, 'keys'), ['n1', 'n2']);
  await writeFile(join(trust, 'root.json'), encodeTrustDocument(trustDocument(dev, { threshold: 2 })));
  await writeFile(join(trust, 'rotation-2.json'), encodeTrustDocument(rotationDocument(trustDocument(fresh, { version: 2, revoked: ['dev-a'] }), dev.slice(0, 2))));
  return { trust, state };
}

test('deleting a rotation file after the node loaded it is refused with E_TRUST_ROLLBACK, not a silent return to old keys', async () => {
  const { trust, state } = await chain('rollback');
  assert.equal(await readTrustMark(state), 0, 'a fresh node has no mark');
  assert.equal((await loadTrustStoreWithMark(trust, state)).version, 2);
  assert.equal(await readFile(join(state, TRUST_MARK_FILE), 'utf8'), '2\n');

  await rm(join(trust, 'rotation-2.json'));
  assert.equal((await loadTrustStore(trust)).version, 1, 'the store alone cannot tell');
  await assert.rejects(loadTrustStoreWithMark(trust, state), (err: { code: string; message: string }) => {
    assert.equal(err.code, 'E_TRUST_ROLLBACK');
    assert.match(err.message, /version 1, but this node already trusted version 2/);
    return true;
  });
  assert.equal(await readTrustMark(state), 2, 'the mark never falls');
});

test('the same or a newer store loads; a corrupt mark is an error, never 0', async () => {
  const { trust, state } = await chain('steady');
  await loadTrustStoreWithMark(trust, state);
  assert.equal((await loadTrustStoreWithMark(trust, state)).version, 2, 'the same version again is fine');
  await writeFile(join(state, TRUST_MARK_FILE), 'two\n');
  await assert.rejects(loadTrustStoreWithMark(trust, state), { code: 'E_TRUST_READ' });
});
