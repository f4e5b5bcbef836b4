// Trust store: public keys with ids, a k-of-n threshold, revoked ids, and rotation by a new
// document signed by the current threshold. Pure (no file system) so a hub can use it too.
import { parseJsonNoDuplicates } from '../json/no-duplicate-keys.ts';
import type { KeyObject } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { NAME_RE, TRUST_SIG_CONTEXT } from './format.ts';
import { isSignatureHex, publicKeyObject, signDetached, verifyDetached, type SigningKey } from './keys.ts';
import type { DetachedSignature } from './signature-block.ts';

export const MAX_TRUST_KEYS = 32;
export const MAX_TRUST_DOCUMENT_BYTES = 64 * 1024;

export interface TrustDocument {
  readonly format: 1;
  /** Rises with every rotation; a rotation must carry a higher version than the store it replaces. */
  readonly version: number;
  /** Valid signatures by distinct trusted keys required (k of n). */
  readonly threshold: number;
  readonly keys: ReadonlyArray<{ readonly id: string; readonly publicKey: string }>;
  /** Key ids that must never count again; a rotation keeps every id revoked before. */
  readonly revoked: readonly string[];
  /** Signatures by the previous store's threshold over trustBody(); empty for a provisioned root. */
  readonly signatures: readonly DetachedSignature[];
}

export interface TrustStore {
  readonly version: number;
  readonly threshold: number;
  readonly keys: ReadonlyMap<string, { readonly id: string; readonly publicHex: string; readonly key: KeyObject }>;
  readonly revoked: ReadonlySet<string>;
  readonly document: TrustDocument;
}

function bad(message: string): OutpostError {
  return new OutpostError('E_TRUST_FORMAT', `trust document: ${message}`);
}

export function validateTrustDocument(v: unknown): TrustDocument {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['format', 'version', 'threshold', 'keys', 'revoked', 'signatures'].includes(k)) throw bad(`unknown key "${k}"`);
  if (o.format !== 1) throw bad('format must be 1');
  if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version) || o.version < 1) throw bad('version must be an integer >= 1');
  if (!Array.isArray(o.keys) || o.keys.length < 1 || o.keys.length > MAX_TRUST_KEYS) throw bad(`keys must list 1..${MAX_TRUST_KEYS} keys`);
  const ids = new Set<string>();
  const pubs = new Set<string>();
  const keys = (o.keys as unknown[]).map((k) => {
    const e = k as { id?: unknown; publicKey?: unknown } | null;
    if (typeof e?.id !== 'string' || !NAME_RE.test(e.id)) throw bad('key id malformed');
    if (typeof e.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(e.publicKey)) throw bad(`key "${e.id}": publicKey must be 64 lowercase hex digits`);
    if (Object.keys(e).length !== 2) throw bad(`key "${e.id}": only id and publicKey are allowed`);
    if (ids.has(e.id) || pubs.has(e.publicKey)) throw bad(`key "${e.id}" listed twice`);
    ids.add(e.id);
    pubs.add(e.publicKey);
    return Object.freeze({ id: e.id, publicKey: e.publicKey });
  });
  if (typeof o.threshold !== 'number' || !Number.isInteger(o.threshold) || o.threshold < 1 || o.threshold > keys.length) {
    throw bad(`threshold must be an integer in 1..${keys.length}`);
  }
  const revoked = o.revoked ?? [];
  if (!Array.isArray(revoked) || revoked.some((r) => typeof r !== 'string' || !NAME_RE.test(r))) throw bad('revoked must list key ids');
  const revokedSet = new Set(revoked as string[]);
  if (revokedSet.size !== revoked.length) throw bad('revoked lists an id twice');
  for (const r of revokedSet) if (ids.has(r)) throw bad(`key "${r}" is both trusted and revoked`);
  const signatures = o.signatures ?? [];
  if (!Array.isArray(signatures)) throw bad('signatures must be an array');
  const sigs = (signatures as unknown[]).map((s) => {
    const e = s as { keyId?: unknown; sig?: unknown } | null;
    if (typeof e?.keyId !== 'string' || !NAME_RE.test(e.keyId) || !isSignatureHex(e.sig)) throw bad('malformed signature');
    return Object.freeze({ keyId: e.keyId, sig: e.sig });
  });
  return Object.freeze({
    format: 1,
    version: o.version,
    threshold: o.threshold,
    keys: Object.freeze(keys),
    revoked: Object.freeze([...(revoked as string[])]),
    signatures: Object.freeze(sigs),
  });
}

export function parseTrustDocument(text: string): TrustDocument {
  if (Buffer.byteLength(text) > MAX_TRUST_DOCUMENT_BYTES) throw bad(`larger than ${MAX_TRUST_DOCUMENT_BYTES} bytes`);
  let v: unknown;
  try {
    v = parseJsonNoDuplicates(text);
  } catch (err) {
    throw bad(`not JSON without duplicate keys: ${(err as Error).message}`);
  }
  return validateTrustDocument(v);
}

/**
 * The bytes a rotation signature covers: compact JSON of format, version, threshold, keys (id,
 * publicKey) and revoked, in exactly this order. Ids and keys are restricted to characters JSON
 * never escapes, so any language reproduces these bytes.
 */
export function trustBody(doc: TrustDocument): Buffer {
  return Buffer.from(
    JSON.stringify({
      format: doc.format,
      version: doc.version,
      threshold: doc.threshold,
      keys: doc.keys.map((k) => ({ id: k.id, publicKey: k.publicKey })),
      revoked: [...doc.revoked],
    }),
    'utf8',
  );
}

export function storeFromDocument(doc: TrustDocument): TrustStore {
  const keys = new Map(doc.keys.map((k) => [k.id, Object.freeze({ id: k.id, publicHex: k.publicKey, key: publicKeyObject(k.publicKey) })]));
  return Object.freeze({ version: doc.version, threshold: doc.threshold, keys, revoked: new Set(doc.revoked), document: doc });
}

export interface SignatureTally {
  /** Distinct trusted, unrevoked key ids whose signature verified. */
  readonly valid: string[];
  /** Trusted, unrevoked key ids whose signature did NOT verify (tampering or a wrong key under a trusted id). */
  readonly invalid: string[];
  readonly revoked: string[];
  readonly unknown: string[];
}

export function tallySignatures(store: TrustStore, context: string, message: Uint8Array, sigs: readonly DetachedSignature[]): SignatureTally {
  const t: SignatureTally = { valid: [], invalid: [], revoked: [], unknown: [] };
  const seen = new Set<string>();
  for (const s of sigs) {
    if (seen.has(s.keyId)) continue; // one key counts once towards the threshold
    seen.add(s.keyId);
    if (store.revoked.has(s.keyId)) t.revoked.push(s.keyId);
    else {
      const k = store.keys.get(s.keyId);
      if (!k) t.unknown.push(s.keyId);
      else (verifyDetached(k.key, context, message, s.sig) ? t.valid : t.invalid).push(s.keyId);
    }
  }
  return t;
}

/** Accepts a rotation document if the current store's threshold signed it and it moves forward. */
export function applyRotation(current: TrustStore, next: TrustDocument): TrustStore {
  const fail = (m: string) => new OutpostError('E_TRUST_ROTATION', `trust rotation to version ${next.version}: ${m}`);
  if (next.version <= current.version) throw fail(`version must be above the current ${current.version}`);
  const t = tallySignatures(current, TRUST_SIG_CONTEXT, trustBody(next), next.signatures);
  if (t.invalid.length > 0) throw fail(`bad signature by ${t.invalid.join(', ')}`);
  if (t.valid.length < current.threshold) {
    throw fail(`${t.valid.length} valid signature(s) by current keys; ${current.threshold} required`);
  }
  for (const r of current.revoked) if (!next.revoked.includes(r)) throw fail(`drops the revocation of "${r}"`);
  return storeFromDocument(next);
}

/** Adds (or replaces) one signature over the document body. */
export function signTrustDocument(doc: TrustDocument, key: SigningKey): TrustDocument {
  const sig = signDetached(key, TRUST_SIG_CONTEXT, trustBody(doc));
  return validateTrustDocument({ ...doc, signatures: [...doc.signatures.filter((s) => s.keyId !== key.id), { keyId: key.id, sig }] });
}

export function encodeTrustDocument(doc: TrustDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
