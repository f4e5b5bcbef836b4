// Key files for the bundle tooling: <id>.key (private JWK, mode 0600) and <id>.pub (public JWK).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '../../shared/errors.ts';
import { readSmallFile } from './small-file.ts';
import { generateSigningKey, parsePrivateKey, parsePublicKey, type PublicKeyInfo, type SigningKey } from '../../shared/bundle/keys.ts';

export interface WrittenKeyPair {
  readonly id: string;
  readonly privatePath: string;
  readonly publicPath: string;
  readonly publicHex: string;
}

export async function writeKeyPair(dir: string, id?: string): Promise<WrittenKeyPair> {
  const k = generateSigningKey(id);
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, `${k.id}.key`);
  const publicPath = join(dir, `${k.id}.pub`);
  try {
    // 'wx': never overwrite an existing key (losing a private key is worse than an error)
    await writeFile(privatePath, JSON.stringify(k.privateJwk) + '\n', { mode: 0o600, flag: 'wx' });
    await writeFile(publicPath, JSON.stringify(k.publicJwk) + '\n', { mode: 0o644, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutpostError('E_KEY_EXISTS', `a key named ${k.id} already exists in ${dir}`);
    throw err;
  }
  return { id: k.id, privatePath, publicPath, publicHex: k.publicHex };
}

function read(path: string): Promise<string> {
  return readSmallFile(path, 16 * 1024, 'E_KEY_READ', 'key');
}

export async function readSigningKey(path: string): Promise<SigningKey> {
  return parsePrivateKey(await read(path), path);
}

export async function readPublicKey(path: string): Promise<PublicKeyInfo> {
  return parsePublicKey(await read(path), path);
}
