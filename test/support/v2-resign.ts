// Rebuilds a format-2 bundle after a test changed its index, stored payload or manifest, and
// signs it again: a malicious or buggy signer, whose bundle carries valid signatures.
import { createHash } from 'node:crypto';
import { bundleLayout } from '../../shared/bundle/layout.ts';
import { encodeManifest, parseManifest } from '../../shared/bundle/manifest.ts';
import { signManifest } from '../../shared/bundle/create.ts';
import { encodeHeader } from '../../shared/bundle/tar-header.ts';
import { paddedSize, TAR_BLOCK, TAR_EOF_BYTES } from '../../shared/bundle/format.ts';
import type { SigningKey } from '../../shared/bundle/keys.ts';
import type { Manifest, PayloadEntry } from '../../shared/bundle/types.ts';

export interface V2Parts {
  manifest: Manifest;
  index: Buffer;
  payload: Buffer;
}

export function splitV2(bundle: Buffer): V2Parts {
  const manifestSize = Number.parseInt(bundle.subarray(124, 135).toString('ascii'), 8);
  const manifest = parseManifest(bundle.subarray(TAR_BLOCK, TAR_BLOCK + manifestSize));
  const l = bundleLayout(manifest, manifestSize);
  const idx = l.entries.find((e) => e.kind === 'index')!;
  const pay = l.entries.find((e) => e.kind === 'payload')!;
  return {
    manifest,
    index: Buffer.from(bundle.subarray(idx.dataOffset, idx.dataOffset + idx.size)),
    payload: Buffer.from(bundle.subarray(pay.dataOffset, pay.dataOffset + pay.size)),
  };
}

/** Joins the parts; by default indexSha256 and storedSize follow the parts (a signer that lies consistently). */
export function joinV2(parts: V2Parts, keys: readonly SigningKey[], o: { keepIndexDigest?: boolean; keepStoredSize?: boolean } = {}): Buffer {
  const p0 = parts.manifest.payloads[0]!;
  const payload: PayloadEntry = {
    ...p0,
    indexSha256: o.keepIndexDigest ? p0.indexSha256 : createHash('sha256').update(parts.index).digest('hex'),
    storedSize: o.keepStoredSize ? p0.storedSize : parts.payload.length,
  };
  const manifestBytes = encodeManifest({ ...parts.manifest, payloads: [payload] });
  const entry = (name: string, data: Buffer) => [encodeHeader(name, data.length), data, Buffer.alloc(paddedSize(data.length) - data.length)];
  return Buffer.concat([
    ...entry('manifest.json', manifestBytes),
    ...entry('signatures.json', signManifest(manifestBytes, keys)),
    ...entry(`index/${payload.name}`, parts.index),
    ...entry(`payload/${payload.name}`, parts.payload),
    Buffer.alloc(TAR_EOF_BYTES),
  ]);
}
