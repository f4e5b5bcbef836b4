// Head parsing without a trust store, for `bundle inspect` and `bundle sign`: full framing and
// manifest checks, signatures decoded but not verified. Never use it to accept a bundle.
import { decodeSignatureBlock } from '../../shared/bundle/signature-block.ts';
import { parseManifest } from '../../shared/bundle/manifest.ts';
import { BundleStreamParser } from './stream-parser.ts';
import type { VerifiedHead } from './types.ts';
import { OutpostError } from '../../shared/errors.ts';

export interface InspectedHead {
  readonly head: VerifiedHead;
  /** Key ids named in the signatures entry (unverified). */
  readonly signatureKeyIds: string[];
}

export async function inspectHead(source: AsyncIterable<Uint8Array>): Promise<InspectedHead> {
  let keyIds: string[] = [];
  const parser = new BundleStreamParser((manifestBytes, signatureBlock) => {
    keyIds = decodeSignatureBlock(signatureBlock).map((s) => s.keyId);
    return { manifest: parseManifest(manifestBytes), signers: [] };
  });
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    for (let off = 0; off < buf.length; ) {
      off += parser.step(buf, off);
      if (parser.head) return { head: parser.head, signatureKeyIds: keyIds };
    }
  }
  throw new OutpostError('E_BUNDLE_TRUNCATED', `bundle ends at byte ${parser.position}, before the first payload`);
}
