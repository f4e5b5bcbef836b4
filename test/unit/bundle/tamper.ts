// Building blocks for hostile bundles: raw tar headers of any type, entries, re-signed manifests.
// Headers are written here from the spec's table, independently of the production writer, so
// reassembling a bundle from its parts byte for byte (bad-input.test.ts) checks the writer
// against the spec.
import { gzipSync } from 'node:zlib';
import { MANIFEST_SIG_CONTEXT, TAR_BLOCK } from '../../../shared/bundle/format.ts';
import { signDetached, type SigningKey } from '../../../shared/bundle/keys.ts';
import { encodeSignatureBlock } from '../../../shared/bundle/signature-block.ts';

export interface RawHeader {
  name: string;
  size: number;
  type?: string; // typeflag character
  linkname?: string;
  uid?: number;
  mtime?: number;
}

/** A ustar header with a correct checksum, any type and fields. */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(TAR_BLOCK);
  const oct = (off: number, width: number, v: number) => b.write(v.toString(8).padStart(width - 1, '0') + '\0', off, width, 'ascii');
  b.write(h.name, 0, 100, 'utf8');
  oct(100, 8, 0o644);
  oct(108, 8, h.uid ?? 0);
  oct(116, 8, 0);
  oct(124, 12, h.size);
  oct(136, 12, h.mtime ?? 0);
  b.write(h.type ?? '0', 156, 'ascii');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 'binary');
  oct(329, 8, 0);
  oct(337, 8, 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

export function pad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((TAR_BLOCK - (data.length % TAR_BLOCK)) % TAR_BLOCK)]);
}

/** A complete entry: canonical header (or the given raw one), data, zero padding. */
export function entry(name: string, data: Buffer, header?: Buffer): Buffer {
  return Buffer.concat([header ?? rawHeader({ name, size: data.length }), pad(data)]);
}

export const EOF = Buffer.alloc(2 * TAR_BLOCK);

export function signatureBlock(manifestBytes: Buffer, keys: readonly SigningKey[]): Buffer {
  return encodeSignatureBlock(keys.map((k) => ({ keyId: k.id, sig: signDetached(k, MANIFEST_SIG_CONTEXT, manifestBytes) })));
}

/** The four parts of a one-payload bundle, cut by the layout the writer reported. */
export interface Parts {
  manifest: Buffer;
  signatures: Buffer;
  index: Buffer;
  payload: Buffer;
  indexName: string;
  payloadName: string;
}

export function assemble(p: Parts, extra: { after?: Buffer[]; eof?: boolean } = {}): Buffer {
  return Buffer.concat([
    entry('manifest.json', p.manifest),
    entry('signatures.json', p.signatures),
    entry(p.indexName, p.index),
    entry(p.payloadName, p.payload),
    ...(extra.after ?? []),
    ...(extra.eof === false ? [] : [EOF]),
  ]);
}

export function gzip(b: Buffer): Buffer {
  return gzipSync(b);
}

export function flipBit(b: Buffer, at: number, bit = 0): Buffer {
  const c = Buffer.from(b);
  c[at] = c[at]! ^ (1 << bit);
  return c;
}
