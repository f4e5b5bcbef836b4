// ed25519 keys with ids. Key files are JWK (RFC 8037) with "kid" = key id, so any JOSE tool can
// read them; trust stores carry the raw 32-byte public key as hex, which is simplest to produce.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { NAME_RE } from './format.ts';

export interface SigningKey {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicHex: string;
}

export interface PublicKeyInfo {
  readonly id: string;
  readonly publicHex: string;
}

const PUB_HEX_RE = /^[0-9a-f]{64}$/;
const SIG_HEX_RE = /^[0-9a-f]{128}$/;

/** Default key id: "k-" + first 16 hex digits of sha256(raw public key). */
export function defaultKeyId(publicHex: string): string {
  return 'k-' + createHash('sha256').update(Buffer.from(publicHex, 'hex')).digest('hex').slice(0, 16);
}

export function checkKeyId(id: string): string {
  if (!NAME_RE.test(id)) throw new OutpostError('E_KEY_FORMAT', `bad key id "${id}" (letters, digits, . _ -; at most 64)`);
  return id;
}

export function generateSigningKey(id?: string): { id: string; privateJwk: object; publicJwk: object; publicHex: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const publicHex = Buffer.from(jwk.x, 'base64url').toString('hex');
  const kid = checkKeyId(id ?? defaultKeyId(publicHex));
  return {
    id: kid,
    privateJwk: { kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x, d: jwk.d },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x },
    publicHex,
  };
}

function parseJwk(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new OutpostError('E_KEY_FORMAT', `${what} is not JSON (expected an Ed25519 JWK)`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OutpostError('E_KEY_FORMAT', `${what} is not a JWK object`);
  const o = v as Record<string, unknown>;
  if (o.kty !== 'OKP' || o.crv !== 'Ed25519' || typeof o.x !== 'string' || typeof o.kid !== 'string') {
    throw new OutpostError('E_KEY_FORMAT', `${what} is not an Ed25519 JWK with kid and x`);
  }
  checkKeyId(o.kid);
  if (Buffer.from(o.x, 'base64url').length !== 32) throw new OutpostError('E_KEY_FORMAT', `${what}: x is not 32 bytes`);
  return o;
}

export function parsePrivateKey(text: string, what = 'private key'): SigningKey {
  const o = parseJwk(text, what);
  if (typeof o.d !== 'string') throw new OutpostError('E_KEY_FORMAT', `${what} has no private part (d); is it a public key?`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: o.x as string, d: o.d }, format: 'jwk' });
  } catch (err) {
    throw new OutpostError('E_KEY_FORMAT', `${what}: ${(err as Error).message}`);
  }
  // x must belong to d; a mismatched pair would make signatures that never verify.
  const derived = (createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }).x;
  if (derived !== o.x) throw new OutpostError('E_KEY_FORMAT', `${what}: public part does not match private part`);
  return { id: o.kid as string, privateKey, publicHex: Buffer.from(derived, 'base64url').toString('hex') };
}

export function parsePublicKey(text: string, what = 'public key'): PublicKeyInfo {
  const o = parseJwk(text, what);
  // a private key where a public one belongs means a secret was copied somewhere it must not be
  if (o.d !== undefined) throw new OutpostError('E_KEY_FORMAT', `${what} is a private key; use the .pub file`);
  return { id: o.kid as string, publicHex: Buffer.from(o.x as string, 'base64url').toString('hex') };
}

export function publicKeyObject(publicHex: string): KeyObject {
  if (!PUB_HEX_RE.test(publicHex)) throw new OutpostError('E_TRUST_FORMAT', 'public key must be 64 lowercase hex digits');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicHex, 'hex').toString('base64url') }, format: 'jwk' });
}

/** Signs context || message; returns 128 lowercase hex digits. */
export function signDetached(key: SigningKey, context: string, message: Uint8Array): string {
  return sign(null, Buffer.concat([Buffer.from(context, 'utf8'), message]), key.privateKey).toString('hex');
}

export function verifyDetached(publicKey: KeyObject, context: string, message: Uint8Array, sigHex: string): boolean {
  if (!SIG_HEX_RE.test(sigHex)) return false;
  return verify(null, Buffer.concat([Buffer.from(context, 'utf8'), message]), publicKey, Buffer.from(sigHex, 'hex'));
}

export function isSignatureHex(s: unknown): s is string {
  return typeof s === 'string' && SIG_HEX_RE.test(s);
}
