// Store suite, part 4: operator tokens (hashed at rest), shared secrets, the bundle registry,
// the bus, and the schema (migrations recorded, a newer schema refused, data kept on reopen).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isOutpostError } from '../../../shared/errors.ts';
import type { JsonValue } from '../../../hub/store/types.ts';
import { addNode, withDb, type StoreHarness } from './suite-helpers.ts';
import { waitFor } from '../../support/wait-for.ts';

export function miscTests(h: StoreHarness): void {
  test(`${h.name}: operator tokens: plaintext once, only its sha256 stored, verify, revoke`, () => withDb(h, async (db) => {
    const s = await db.open();
    const { token, row } = await s.createToken('ci', 1_000);
    assert.match(token, /^opt_[A-Za-z0-9_-]{43}$/);
    assert.equal(row.hint, token.slice(0, 8));
    const stored = await db.query('SELECT * FROM tokens');
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.hash, createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(stored).includes(token.slice(8)), 'the secret part is never stored');
    assert.equal((await s.verifyToken(token, 2_000))!.id, row.id);
    assert.equal((await s.listTokens())[0]!.lastUsedAt, 2_000);
    assert.equal((await s.verifyToken(token, 2_030))!.lastUsedAt, 2_000, 'lastUsedAt written at most once a minute');
    assert.equal(await s.verifyToken(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 3_000), null);
    assert.equal(await s.verifyToken('', 3_000), null);
    assert.equal(await s.verifyToken('Bearer ' + token, 3_000), null);
    const second = await s.createToken('laptop', 4_000);
    assert.notEqual(second.token, token);
    assert.equal(await s.revokeToken(row.id, 5_000), true);
    assert.equal(await s.revokeToken(row.id, 5_000), false);
    assert.equal(await s.verifyToken(token, 6_000), null);
    assert.ok(await s.verifyToken(second.token, 6_000));
    assert.deepEqual((await s.listTokens()).map((t) => [t.name, t.revokedAt]), [['ci', 5_000], ['laptop', null]]);
    await assert.rejects(s.createToken('', 1), (e) => isOutpostError(e, 'E_STORE_BAD_VALUE'));
  }));

  test(`${h.name}: a secret is made once and shared by every store on the database`, () => withDb(h, async (db) => {
    const a = await db.open();
    const b = await db.open();
    const [x, y] = await Promise.all([a.secret('download'), b.secret('download')]);
    assert.match(x, /^[0-9a-f]{64}$/);
    assert.equal(x, y);
    assert.notEqual(await a.secret('other'), x);
  }));

  test(`${h.name}: bundle registry`, () => withDb(h, async (db) => {
    const s = await db.open();
    const b = { id: 'fw-2.0', path: '/srv/b/fw-2.0.bundle', size: 123_456_789_012, sha256: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), version: '2.0', release: 7, compatible: ['x', 'y'], addedAt: 5 };
    await s.putBundle(b);
    assert.deepEqual(await s.getBundle('fw-2.0'), b);
    await s.putBundle({ ...b, path: '/elsewhere', addedAt: 6 });
    assert.equal((await s.getBundle('fw-2.0'))!.path, '/elsewhere');
    await s.putBundle({ ...b, id: 'fw-1.0', release: 6, addedAt: 1 });
    assert.deepEqual((await s.listBundles()).map((x) => x.id), ['fw-2.0', 'fw-1.0']);
    assert.equal(await s.deleteBundle('fw-1.0'), true);
    assert.equal(await s.deleteBundle('fw-1.0'), false);
    assert.equal(await s.getBundle('fw-1.0'), null);
  }));

  test(`${h.name}: bus: every subscriber on the database gets a notification, the publisher included`, () => withDb(h, async (db) => {
    const a = await db.open();
    const b = await db.open();
    const got: Array<[string, JsonValue]> = [];
    const offA = await a.subscribe('outpost_test', (p) => got.push(['a', p]));
    await b.subscribe('outpost_test', (p) => got.push(['b', p]));
    await b.subscribe('outpost_other', (p) => got.push(['other', p]));
    await a.notify('outpost_test', { n: 1, s: 'é' });
    await waitFor('both deliveries', () => got.length === 2);
    assert.deepEqual(got.sort(), [['a', { n: 1, s: 'é' }], ['b', { n: 1, s: 'é' }]]);
    await offA();
    await b.notify('outpost_test', [2]);
    await waitFor('delivery to b', () => got.length === 3);
    assert.deepEqual(got[2], ['b', [2]]);
    await assert.rejects(a.notify('Bad-Channel', 1), (e) => isOutpostError(e, 'E_STORE_BUS_CHANNEL'));
    await assert.rejects(a.subscribe('x;drop', () => {}), (e) => isOutpostError(e, 'E_STORE_BUS_CHANNEL'));
    await assert.rejects(a.notify('outpost_test', 'x'.repeat(8_000)), (e) => isOutpostError(e, 'E_STORE_BUS_PAYLOAD'));
  }));

  test(`${h.name}: schema: migrations recorded, data kept on reopen, a newer schema refused`, () => withDb(h, async (db) => {
    const s = await db.open();
    const id = await addNode(s);
    await s.close();
    const again = await db.open();
    assert.equal((await again.getNode(id))!.id, id);
    const v = await db.query('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(v.map((r) => Number(r.version)), [1]);
    await db.query('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [99, 1]);
    await assert.rejects(db.open(), (e) => isOutpostError(e, 'E_STORE_SCHEMA_NEWER'));
  }));
}
