// Loads a node's trust store from disk and installs rotations. Layouts accepted:
//  - a trust document file (root.json style, see docs/bundles.md), or one public key file (JWK);
//  - a directory with root.json plus rotation-<version>.json files, applied in version order,
//    each one verified against the store before it (so a rotation chain can be followed
//    unattended);
//  - a directory of public key files (*.pub): every key trusted, threshold 1.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { readSmallFile } from './small-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import { parsePublicKey } from '../../shared/bundle/keys.ts';
import {
  applyRotation, encodeTrustDocument, MAX_TRUST_DOCUMENT_BYTES, parseTrustDocument, storeFromDocument, validateTrustDocument, type TrustStore,
} from '../../shared/bundle/trust.ts';

export const ROOT_FILE = 'root.json';
const ROTATION_RE = /^rotation-(\d{1,15})\.json$/;
const MAX_FILES = 256;

function readText(path: string): Promise<string> {
  return readSmallFile(path, MAX_TRUST_DOCUMENT_BYTES, 'E_TRUST_READ', 'trust file');
}

function fromPublicKeys(texts: Array<[string, string]>): TrustStore {
  const keys = texts.map(([path, text]) => {
    const k = parsePublicKey(text, path);
    return { id: k.id, publicKey: k.publicHex };
  });
  return storeFromDocument(validateTrustDocument({ format: 1, version: 1, threshold: 1, keys, revoked: [], signatures: [] }));
}

function isJwk(text: string): boolean {
  try {
    return (JSON.parse(text) as { kty?: unknown })?.kty !== undefined;
  } catch {
    return false;
  }
}

export async function loadTrustStore(path: string): Promise<TrustStore> {
  const st = await stat(path).catch((err: Error) => {
    throw new OutpostError('E_TRUST_READ', `trust store ${path}: ${err.message}`, { cause: err });
  });
  if (!st.isDirectory()) {
    const text = await readText(path);
    return isJwk(text) ? fromPublicKeys([[path, text]]) : storeFromDocument(parseTrustDocument(text));
  }
  const names = (await readdir(path)).sort();
  if (names.length > MAX_FILES) throw new OutpostError('E_TRUST_READ', `trust store ${path} holds more than ${MAX_FILES} files`);
  if (!names.includes(ROOT_FILE)) {
    const pubs = names.filter((n) => n.endsWith('.pub'));
    if (pubs.length === 0) throw new OutpostError('E_TRUST_READ', `trust store ${path} has neither ${ROOT_FILE} nor *.pub keys`);
    return fromPublicKeys(await Promise.all(pubs.map(async (n) => [join(path, n), await readText(join(path, n))] as [string, string])));
  }
  let store = storeFromDocument(parseTrustDocument(await readText(join(path, ROOT_FILE))));
  const rotations = names
    .map((n) => ({ n, m: ROTATION_RE.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map((x) => ({ name: x.n, version: Number(x.m[1]) }))
    .sort((a, b) => a.version - b.version);
  for (const r of rotations) {
    if (r.version <= store.version) continue; // superseded by root.json (re-provisioned node)
    const doc = parseTrustDocument(await readText(join(path, r.name)));
    if (doc.version !== r.version) throw new OutpostError('E_TRUST_ROTATION', `${r.name} holds version ${doc.version}`);
    store = applyRotation(store, doc);
  }
  return store;
}

/**
 * Verifies a rotation document against the store in `dir` and, only if valid, stores it as
 * rotation-<version>.json (atomically). Returns the new store.
 */
export async function installRotation(dir: string, documentText: string): Promise<TrustStore> {
  const current = await loadTrustStore(dir);
  const doc = parseTrustDocument(documentText);
  const next = applyRotation(current, doc);
  await writeFileAtomic(join(dir, `rotation-${doc.version}.json`), encodeTrustDocument(doc));
  return next;
}
