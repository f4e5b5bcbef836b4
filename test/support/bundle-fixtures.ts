// Real signed bundles for any test suite: keys, deterministic images, bundles, trust stores.
// Everything is made by the same code the CLI uses; nothing here fakes a signature.
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { createBundle, type Created } from '../../shared/bundle/create.ts';
import { encodeTrustDocument, validateTrustDocument, signTrustDocument, type TrustDocument, type TrustStore } from '../../shared/bundle/trust.ts';
import type { SigningKey } from '../../shared/bundle/keys.ts';
import type { PayloadEntry } from '../../shared/bundle/types.ts';
import { readSigningKey, writeKeyPair } from '../../agent/bundle/key-files.ts';
import { loadTrustStore } from '../../agent/bundle/trust-file.ts';
import type { VerifyPolicy } from '../../agent/bundle/types.ts';

/** Committed dev-only keys (dev-a, dev-b, dev-c): never trusted by a real node. */
export const DEV_KEYS_DIR = resolve(import.meta.dirname, '../fixtures/keys');
export const DEV_KEY_IDS = ['dev-a', 'dev-b', 'dev-c'] as const;
export const TEST_COMPATIBLE = 'outpost-test-board';

export interface TestKey {
  readonly id: string;
  readonly privatePath: string;
  readonly publicPath: string;
  readonly publicHex: string;
  readonly key: SigningKey;
}

/** Fresh key pairs in `dir` (default ids k1, k2, …). */
export async function makeKeys(dir: string, ids: readonly string[] = ['k1']): Promise<TestKey[]> {
  const out: TestKey[] = [];
  for (const id of ids) {
    const w = await writeKeyPair(dir, id);
    out.push({ ...w, key: await readSigningKey(w.privatePath) });
  }
  return out;
}

/** The committed dev keys, loaded. */
export async function devKeys(ids: readonly string[] = DEV_KEY_IDS): Promise<TestKey[]> {
  return Promise.all(
    ids.map(async (id) => {
      const privatePath = join(DEV_KEYS_DIR, `${id}.key`);
      const key = await readSigningKey(privatePath);
      return { id, privatePath, publicPath: join(DEV_KEYS_DIR, `${id}.pub`), publicHex: key.publicHex, key };
    }),
  );
}

export function trustDocument(keys: readonly TestKey[], opts: { threshold?: number; revoked?: string[]; version?: number } = {}): TrustDocument {
  return validateTrustDocument({
    format: 1,
    version: opts.version ?? 1,
    threshold: opts.threshold ?? 1,
    keys: keys.map((k) => ({ id: k.id, publicKey: k.publicHex })),
    revoked: opts.revoked ?? [],
    signatures: [],
  });
}

/** A trust directory (root.json) a node would be provisioned with. Returns the loaded store too. */
export async function makeTrustDir(
  dir: string,
  keys: readonly TestKey[],
  opts: { threshold?: number; revoked?: string[]; version?: number } = {},
): Promise<{ dir: string; store: TrustStore }> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'root.json'), encodeTrustDocument(trustDocument(keys, opts)));
  return { dir, store: await loadTrustStore(dir) };
}

/** A rotation document for `next` signed by `signers` (keys of the current store). */
export function rotationDocument(next: TrustDocument, signers: readonly TestKey[]): TrustDocument {
  return signers.reduce((doc, s) => signTrustDocument(doc, s.key), next);
}

/** Deterministic pseudo-random image (AES-256-CTR keystream of the seed), written streaming. */
export async function makeImage(path: string, size: number, seed = 1): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const key = createHash('sha256').update(`outpost-image-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = createWriteStream(path);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, zeros.length);
    if (!out.write(cipher.update(zeros.subarray(0, n)))) await once(out, 'drain');
    left -= n;
  }
  out.end();
  await once(out, 'finish');
  return path;
}

export interface MakeBundleOptions {
  image: string;
  out: string;
  keys: readonly TestKey[];
  version?: string;
  release?: number;
  compatible?: readonly string[];
  blockSize?: number;
  slotClass?: string;
  name?: string;
  created?: Date;
  format?: 1 | 2;
  /** Format 2 only. */
  groupBlocks?: number;
}

export interface MadeBundle extends Created {
  readonly path: string;
}

export async function makeBundle(o: MakeBundleOptions): Promise<MadeBundle> {
  const created = await createBundle({
    payloads: [{
      path: o.image, name: o.name ?? 'rootfs.img', slotClass: o.slotClass ?? 'rootfs',
      blockSize: o.blockSize ?? (o.format === 2 ? 4096 : 64 * 1024), groupBlocks: o.groupBlocks,
    }],
    format: o.format,
    version: o.version ?? '1.0.0',
    release: o.release ?? 1,
    compatible: o.compatible ?? [TEST_COMPATIBLE],
    keys: o.keys.map((k) => k.key),
    out: o.out,
    created: o.created ?? new Date('2026-11-21T12:00:00Z'),
  });
  return { ...created, path: o.out };
}

export function testPolicy(trust: TrustStore, opts: { floor?: number; compatible?: readonly string[] } = {}): VerifyPolicy {
  return { trust, releaseFloor: opts.floor ?? 0, compatible: opts.compatible ?? [TEST_COMPATIBLE] };
}

/** Calls fn for each block of a sink call's data (a run of small blocks arrives in one call). */
export function eachBlock(p: PayloadEntry, index: number, data: Buffer, fn: (i: number, block: Buffer) => void): void {
  for (let k = 0; k * p.blockSize < data.length; k++) fn(index + k, data.subarray(k * p.blockSize, (k + 1) * p.blockSize));
}
