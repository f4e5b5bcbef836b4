import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, verify } from 'node:crypto';
import { KEY_FILE, loadOrCreateIdentity, fingerprintOf } from '../../../agent/identity/device-identity.ts';
import { isOutpostError } from '../../../shared/errors.ts';

test('first start makes a 0600 ed25519 key; later starts load the same identity', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ident-'));
  try {
    const a = await loadOrCreateIdentity(join(dir, 'id'), null);
    assert.equal((await stat(join(dir, 'id', KEY_FILE))).mode & 0o777, 0o600);
    assert.match(a.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(a.fingerprint, fingerprintOf(Buffer.from(a.publicKey, 'base64')));
    assert.equal(a.deviceId, `fp-${a.fingerprint.slice(0, 16)}`);
    const b = await loadOrCreateIdentity(join(dir, 'id'), 'gate-7');
    assert.equal(b.fingerprint, a.fingerprint);
    assert.equal(b.deviceId, 'gate-7');
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(a.publicKey, 'base64')]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.ok(verify(null, Buffer.from('x'), pub, b.sign(Buffer.from('x'))));
    await chmod(join(dir, 'id', KEY_FILE), 0o644);
    await loadOrCreateIdentity(join(dir, 'id'), null);
    assert.equal((await stat(join(dir, 'id', KEY_FILE))).mode & 0o777, 0o600, 'a widened mode is tightened');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt key is an error, never silently replaced by a new identity', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ident-'));
  try {
    await writeFile(join(dir, KEY_FILE), 'garbage', { mode: 0o600 });
    await assert.rejects(loadOrCreateIdentity(dir, null), (e) => isOutpostError(e, 'E_IDENTITY_KEY'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
