// A bundle's identity as an offer pins it (PROTOCOL.md "offer"): the sha256 of the manifest
// entry's bytes exactly as stored (the bytes the signatures cover), the file's size, and the
// manifest's version, release and compatible strings. A hub computes it from the file it serves;
// the node compares it with what it verified before writing a single block.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { OutpostError } from '../errors.ts';
import { MANIFEST_NAME, MAX_MANIFEST_BYTES, TAR_BLOCK } from './format.ts';
import { bundleLayout } from './layout.ts';
import { parseManifest } from './manifest.ts';
import { checkHeader } from './tar-header.ts';

export interface BundleIdentity {
  /** Lowercase hex sha256 of the manifest entry's bytes. */
  readonly manifestSha256: string;
  /** Exact length of the bundle file in bytes. */
  readonly size: number;
  readonly version: string;
  readonly release: number;
  readonly compatible: readonly string[];
}

/** The manifest entry's data bytes from a bundle's head bytes (its first entry). */
export function manifestBytesOf(headBytes: Buffer): Buffer {
  const h = checkHeader(headBytes.subarray(0, TAR_BLOCK), 0);
  if (h.kind !== 'entry' || h.name !== MANIFEST_NAME) throw new OutpostError('E_BUNDLE_ENTRY_ORDER', `the first entry must be ${MANIFEST_NAME}`);
  return headBytes.subarray(TAR_BLOCK, TAR_BLOCK + h.size);
}

/** sha256 (lowercase hex) of the manifest bytes: the value an offer's `manifestSha256` carries. */
export function manifestSha256(manifestBytes: Buffer): string {
  return createHash('sha256').update(manifestBytes).digest('hex');
}

/**
 * Reads the head of the bundle at `path` and returns its identity. It checks the layout (the size
 * must be the one the manifest implies) but not the signatures: the caller serves or inspects a
 * file, and every node verifies the signatures itself.
 */
export async function readBundleIdentity(path: string): Promise<BundleIdentity> {
  const fh = await open(path, 'r').catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_READ', `cannot read bundle ${path}: ${err.message}`, { cause: err });
  });
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(TAR_BLOCK);
    const got = (await fh.read(header, 0, TAR_BLOCK, 0)).bytesRead;
    const h = checkHeader(header.subarray(0, got), 0);
    if (h.kind !== 'entry' || h.name !== MANIFEST_NAME) {
      throw new OutpostError('E_BUNDLE_ENTRY_ORDER', `${path}: the first entry must be ${MANIFEST_NAME}`);
    }
    if (h.size > MAX_MANIFEST_BYTES) {
      throw new OutpostError('E_BUNDLE_MANIFEST_SIZE', `manifest is ${h.size} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
    }
    const bytes = Buffer.alloc(h.size);
    const read = (await fh.read(bytes, 0, h.size, TAR_BLOCK)).bytesRead;
    if (read !== h.size) throw new OutpostError('E_BUNDLE_TRUNCATED', `${path}: manifest entry is cut short`);
    const manifest = parseManifest(bytes);
    const expected = bundleLayout(manifest, h.size).totalSize;
    if (size !== expected) {
      throw new OutpostError(size < expected ? 'E_BUNDLE_TRUNCATED' : 'E_BUNDLE_TRAILING_DATA', `${path} is ${size} bytes; its manifest describes ${expected}`);
    }
    return Object.freeze({
      manifestSha256: manifestSha256(bytes),
      size,
      version: manifest.version,
      release: manifest.release,
      compatible: manifest.compatible,
    });
  } finally {
    await fh.close();
  }
}
