// The node's ed25519 key pair: made on first start, private key mode 0600 in the state dir.
// This is the only module that reads key material; others get a signer and public facts.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, stat, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';

export const KEY_FILE = 'device-key.pem';

export interface DeviceIdentity {
  readonly deviceId: string;
  /** base64 of the raw 32-byte public key, as sent in hello. */
  readonly publicKey: string;
  /** sha256 (hex) of the raw public key: what an operator accepts on the hub. */
  readonly fingerprint: string;
  sign(data: Buffer): Buffer;
}

export function rawPublicKey(key: KeyObject): Buffer {
  // The SPKI DER of an ed25519 key is a fixed 12-byte prefix followed by the 32 raw bytes.
  return createPublicKey(key).export({ type: 'spki', format: 'der' }).subarray(-32);
}

export function fingerprintOf(rawPublic: Buffer): string {
  return createHash('sha256').update(rawPublic).digest('hex');
}

export function identityFromKey(privateKey: KeyObject, deviceId: string | null): DeviceIdentity {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new OutpostError('E_IDENTITY_KEY', 'device key is not ed25519');
  const raw = rawPublicKey(privateKey);
  const fingerprint = fingerprintOf(raw);
  return {
    // Without a provisioned id the fingerprint names the node: stable and unique per key.
    deviceId: deviceId ?? `fp-${fingerprint.slice(0, 16)}`,
    publicKey: raw.toString('base64'),
    fingerprint,
    sign: (data) => sign(null, data, privateKey),
  };
}

/** Loads the key from `dir`, creating it (0600) on first start. A corrupt key is an error, never replaced silently. */
export async function loadOrCreateIdentity(dir: string, deviceId: string | null): Promise<DeviceIdentity> {
  const file = join(dir, KEY_FILE);
  let pem: string | null = null;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OutpostError('E_IDENTITY_KEY', `cannot read device key ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (pem === null) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    return identityFromKey(privateKey, deviceId);
  }
  // Someone widened the mode by hand: tighten it rather than refuse to start.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new OutpostError('E_IDENTITY_KEY', `device key ${file} is unreadable; move it aside to make a new identity`, { cause: err });
  }
  return identityFromKey(key, deviceId);
}
