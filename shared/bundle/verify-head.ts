// Head checks in the order that gives each fault its own code: signatures over the raw manifest
// bytes first (so tampering reads as E_BUNDLE_SIGNATURE, never as a JSON error), then the
// manifest's shape, then the node's policy (floor, compatible strings).
import { OutpostError } from '../errors.ts';
import { MANIFEST_SIG_CONTEXT } from './format.ts';
import { parseManifest } from './manifest.ts';
import { decodeSignatureBlock } from './signature-block.ts';
import { tallySignatures, type TrustStore } from './trust.ts';
import type { Manifest } from './types.ts';

export interface PolicyLimits {
  /** Lowest acceptable release (anti-rollback floor); equal is accepted (reinstall). */
  readonly releaseFloor: number;
  /** The node's compatible strings; the manifest must name one. Empty: no check (tooling only). */
  readonly compatible: readonly string[];
}

export function verifySignatures(trust: TrustStore, manifestBytes: Buffer, signatureBlock: Buffer): string[] {
  const sigs = decodeSignatureBlock(signatureBlock);
  const t = tallySignatures(trust, MANIFEST_SIG_CONTEXT, manifestBytes, sigs);
  if (t.invalid.length > 0) {
    throw new OutpostError('E_BUNDLE_SIGNATURE', `signature by ${t.invalid.join(', ')} does not verify (manifest or signature altered)`);
  }
  if (t.valid.length >= trust.threshold) return t.valid;
  const have = `${t.valid.length} valid signature(s), ${trust.threshold} required`;
  if (t.revoked.length > 0) throw new OutpostError('E_BUNDLE_KEY_REVOKED', `signed by revoked key ${t.revoked.join(', ')}; ${have}`);
  if (t.unknown.length > 0) throw new OutpostError('E_BUNDLE_KEY_UNKNOWN', `signed by untrusted key ${t.unknown.join(', ')}; ${have}`);
  throw new OutpostError('E_BUNDLE_THRESHOLD', `too few signatures: ${have}`);
}

export function checkPolicy(manifest: Manifest, limits: PolicyLimits): void {
  if (manifest.release < limits.releaseFloor) {
    throw new OutpostError('E_BUNDLE_ROLLBACK', `release ${manifest.release} is below this node's floor ${limits.releaseFloor}`);
  }
  if (limits.compatible.length > 0 && !manifest.compatible.some((c) => limits.compatible.includes(c))) {
    throw new OutpostError(
      'E_BUNDLE_INCOMPATIBLE',
      `bundle is for ${manifest.compatible.join(', ')}; this node is ${limits.compatible.join(', ')}`,
    );
  }
}

export function verifyHeadEntries(
  trust: TrustStore,
  limits: PolicyLimits,
  manifestBytes: Buffer,
  signatureBlock: Buffer,
): { manifest: Manifest; signers: string[] } {
  const signers = verifySignatures(trust, manifestBytes, signatureBlock);
  const manifest = parseManifest(manifestBytes);
  checkPolicy(manifest, limits);
  return { manifest, signers };
}
