// Format constants and limits of bundle formats 1 and 2. The normative text is
// shared/BUNDLE-SPEC.md; every number here appears there too.

/** The format a library caller gets by default (the CLI chooses its own default). */
export const FORMAT_VERSION = 1;
/** Format 2: blocks compressed independently (zstd), two-level block index (BUNDLE-SPEC.md §12). */
export const FORMAT_V2 = 2;
/** Every format this reader accepts; anything else is E_BUNDLE_FORMAT. */
export const SUPPORTED_FORMATS: readonly number[] = [1, 2];
export type FormatVersion = 1 | 2;

export const MANIFEST_NAME = 'manifest.json';
export const SIGNATURES_NAME = 'signatures.json';
export const INDEX_PREFIX = 'index/';
export const PAYLOAD_PREFIX = 'payload/';

/** tar block size; headers are one block, data is padded with zeros to a multiple of it. */
export const TAR_BLOCK = 512;
/** Two zero blocks end the archive. */
export const TAR_EOF_BYTES = 2 * TAR_BLOCK;

/** The signatures entry has this exact size, so signing rewrites it in place and nothing after it moves. */
export const SIGNATURES_SIZE = 4096;
export const MAX_SIGNATURES = 16;

export const MAX_MANIFEST_BYTES = 64 * 1024;
export const MAX_PAYLOADS = 8;
/** Largest payload a ustar size field can describe (11 octal digits). */
export const MAX_PAYLOAD_SIZE = 0o77777777777;
export const MIN_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 8 * 1024 * 1024;
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
export const DIGEST_BYTES = 32;

// Format 2: fine blocks (what a delta fetches and every block check covers) in groups (what a
// node matches first, by one hash per group). Stored sizes are 16-bit, so blocks are ≤ 64 KiB.
export const V2_MIN_BLOCK_SIZE = 4 * 1024;
export const V2_MAX_BLOCK_SIZE = 64 * 1024;
export const V2_DEFAULT_BLOCK_SIZE = 4 * 1024;
export const V2_MAX_GROUP_BLOCKS = 256;
export const V2_DEFAULT_GROUP_BLOCKS = 16;
/** Bytes per block in the format-2 index: its stored size minus one, big-endian. */
export const V2_SIZE_BYTES = 2;
/** Upper bound on everything before the first payload's data (manifest, signatures, all indexes, headers). */
export const MAX_HEAD_BYTES = 16 * 1024 * 1024;
export const MAX_COMPATIBLE = 16;
export const MAX_NAME_LENGTH = 64;
export const MAX_STRING_LENGTH = 128;

/** Domain separation: a manifest signature can never be replayed as a trust-store signature. */
export const MANIFEST_SIG_CONTEXT = 'outpost-manifest-v1\n';
export const TRUST_SIG_CONTEXT = 'outpost-trust-v1\n';

/** Payload names, slot classes and key ids: short, no path separators, no leading dot. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Versions and compatible strings may also carry `+`, `:` and `/` (e.g. "vendor/board:rev2"). */
export const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._+:/-]{0,127}$/;
export const HEX_SHA256_RE = /^[0-9a-f]{64}$/;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** Bytes an entry occupies: header plus data padded to a 512-byte boundary. */
export function entrySpan(size: number): number {
  return TAR_BLOCK + paddedSize(size);
}

export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/** Format-2 payload fields (absent in format 1). */
interface SizedPayload {
  readonly size: number;
  readonly blocks: number;
  readonly groupBlocks?: number;
  readonly storedSize?: number;
}

export function groupCount(p: SizedPayload): number {
  return Math.ceil(p.blocks / (p.groupBlocks ?? 1));
}

/** Size of the `index/<name>` entry: flat digests (format 1), or group digests + stored sizes (format 2). */
export function indexEntrySize(p: SizedPayload): number {
  return p.groupBlocks === undefined ? p.blocks * DIGEST_BYTES : groupCount(p) * DIGEST_BYTES + p.blocks * V2_SIZE_BYTES;
}

/** Size of the `payload/<name>` entry: the raw image (format 1) or its stored form (format 2). */
export function payloadEntrySize(p: SizedPayload): number {
  return p.storedSize ?? p.size;
}
