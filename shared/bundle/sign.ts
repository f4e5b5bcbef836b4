// `bundle sign`: adds one signature by rewriting the fixed-size signatures entry in place.
// Nothing else in the file moves, so offsets a fetcher computed stay valid.
import { open } from 'node:fs/promises';
import { OutpostError } from '../errors.ts';
import { MANIFEST_NAME, MANIFEST_SIG_CONTEXT, SIGNATURES_NAME, SIGNATURES_SIZE, TAR_BLOCK } from './format.ts';
import { signDetached, type SigningKey } from './keys.ts';
import { signaturesDataOffset } from './layout.ts';
import { parseManifest } from './manifest.ts';
import { decodeSignatureBlock, encodeSignatureBlock, type DetachedSignature } from './signature-block.ts';
import { checkHeader } from './tar-header.ts';

async function readAt(fh: import('node:fs/promises').FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, offset);
  if (bytesRead !== length) throw new OutpostError('E_BUNDLE_TRUNCATED', `bundle ends before byte ${offset + length}`);
  return b;
}

/** Adds (or replaces) the signature by `key`; returns the signatures now in the bundle. */
export async function addSignature(path: string, key: SigningKey): Promise<DetachedSignature[]> {
  const fh = await open(path, 'r+');
  try {
    const mh = checkHeader(await readAt(fh, 0, TAR_BLOCK), 0);
    if (mh.kind !== 'entry' || mh.name !== MANIFEST_NAME) throw new OutpostError('E_BUNDLE_ENTRY_ORDER', 'first entry is not the manifest');
    const manifestBytes = await readAt(fh, TAR_BLOCK, mh.size);
    parseManifest(manifestBytes); // refuse to sign something a node would reject anyway
    const dataAt = signaturesDataOffset(mh.size);
    const sh = checkHeader(await readAt(fh, dataAt - TAR_BLOCK, TAR_BLOCK), dataAt - TAR_BLOCK);
    if (sh.kind !== 'entry' || sh.name !== SIGNATURES_NAME || sh.size !== SIGNATURES_SIZE) {
      throw new OutpostError('E_BUNDLE_ENTRY_ORDER', 'second entry is not the fixed-size signatures entry');
    }
    const existing = decodeSignatureBlock(await readAt(fh, dataAt, SIGNATURES_SIZE));
    const sig = signDetached(key, MANIFEST_SIG_CONTEXT, manifestBytes);
    const sigs = [...existing.filter((s) => s.keyId !== key.id), { keyId: key.id, sig }];
    await fh.write(encodeSignatureBlock(sigs), 0, SIGNATURES_SIZE, dataAt);
    await fh.sync();
    return sigs;
  } finally {
    await fh.close();
  }
}
