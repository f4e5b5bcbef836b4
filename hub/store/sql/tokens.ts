// Operator tokens (only a sha256 of each is stored; the plaintext is shown once), the shared
// secrets every hub process on the database agrees on, and the bundle registry.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OutpostError } from '../../../shared/errors.ts';
import type { Db } from './db.ts';
import { bundleFromRow, tokenFromRow } from './rows.ts';
import type { BundleRow, TokenRow } from '../records.ts';

export const TOKEN_PREFIX = 'opt_';
const TOKEN = /^opt_[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function createToken(db: Db, name: string, now: number): Promise<{ token: string; row: TokenRow }> {
  if (typeof name !== 'string' || !name.trim() || name.length > 100) throw new OutpostError('E_STORE_BAD_VALUE', 'token name: 1..100 characters');
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = `tok-${randomBytes(6).toString('hex')}`;
  const hint = token.slice(0, 8);
  await db.tx((tx) => tx.run('INSERT INTO tokens (id, name, hash, hint, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL, NULL)',
    [id, name, sha256(token), hint, now]));
  return { token, row: { id, name, hint, createdAt: now, lastUsedAt: null, revokedAt: null } };
}

export async function verifyToken(db: Db, token: string, now: number): Promise<TokenRow | null> {
  if (typeof token !== 'string' || !TOKEN.test(token)) return null;
  const hash = sha256(token);
  return db.tx(async (tx) => {
    const r = await tx.get('SELECT id, name, hash, hint, created_at, last_used_at, revoked_at FROM tokens WHERE hash = ?', [hash]);
    // The lookup is by hash already; the constant-time compare only guards against a lax index.
    if (!r || !timingSafeEqual(Buffer.from(String(r.hash)), Buffer.from(hash)) || r.revoked_at !== null) return null;
    // lastUsedAt to the minute: a busy operator script does not write on every request.
    if (r.last_used_at === null || now - Number(r.last_used_at) >= 60_000) {
      await tx.run('UPDATE tokens SET last_used_at = ? WHERE id = ?', [now, r.id as string]);
      r.last_used_at = now;
    }
    return tokenFromRow(r);
  });
}

export const listTokens = (db: Db) =>
  db.read(async (tx) => (await tx.all('SELECT id, name, hint, created_at, last_used_at, revoked_at FROM tokens ORDER BY created_at, id')).map(tokenFromRow));

export const revokeToken = (db: Db, id: string, now: number) =>
  db.tx(async (tx) => (await tx.run('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])) > 0);

export async function secret(db: Db, name: string): Promise<string> {
  return db.tx(async (tx) => {
    await tx.run('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, randomBytes(32).toString('hex')]);
    return String((await tx.get('SELECT value FROM secrets WHERE name = ?', [name]))!.value);
  });
}

const B_COLS = 'id, path, size, sha256, manifest_sha256, version, release, compatible, added_at';

export async function putBundle(db: Db, b: BundleRow): Promise<void> {
  await db.tx((tx) => tx.run(
    `INSERT INTO bundles (${B_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET path = excluded.path, size = excluded.size, sha256 = excluded.sha256,
       manifest_sha256 = excluded.manifest_sha256, version = excluded.version, release = excluded.release,
       compatible = excluded.compatible, added_at = excluded.added_at`,
    [b.id, b.path, b.size, b.sha256, b.manifestSha256, b.version, b.release, JSON.stringify(b.compatible), b.addedAt],
  ));
}

export async function getBundle(db: Db, id: string): Promise<BundleRow | null> {
  const r = await db.read((tx) => tx.get(`SELECT ${B_COLS} FROM bundles WHERE id = ?`, [id]));
  return r ? bundleFromRow(r) : null;
}

export const listBundles = (db: Db) => db.read(async (tx) => (await tx.all(`SELECT ${B_COLS} FROM bundles ORDER BY added_at DESC, id`)).map(bundleFromRow));

export const deleteBundle = (db: Db, id: string) => db.tx(async (tx) => (await tx.run('DELETE FROM bundles WHERE id = ?', [id])) > 0);
