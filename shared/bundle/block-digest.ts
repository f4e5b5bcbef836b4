// sha256 of one block, as a node checks blocks against the signed index. A block of zeros is
// compared with zeros instead of hashed: its digest is known, so the answer is the same, and
// zeros are much of what a node reads (an image's and a slot's free space, a new node's empty
// slot). A compare stops at the first byte that is not zero, so other blocks cost next to nothing
// more: the first and last bytes are looked at before any compare is made.
import { hash } from 'node:crypto';

/** Zeros compared against, a slice at a time (blocks may be larger: format 1 has up to 8 MiB); made at first use. */
let zeros: Buffer | null = null;
/** The digest of a block of zeros, per block length ('binary' strings; a few lengths in a process). */
const zeroDigests = new Map<number, string>();

/** True when every byte of `data` is zero. */
export function isZeros(data: Buffer): boolean {
  const n = data.length;
  if (n === 0 || data[0] !== 0 || data[n - 1] !== 0) return n === 0;
  const z = (zeros ??= Buffer.alloc(64 << 10));
  for (let at = 0; at < n; at += z.length) {
    const len = Math.min(z.length, n - at);
    if (z.compare(data, at, at + len, 0, len) !== 0) return false;
  }
  return true;
}

/** sha256 of `data` as a 'binary' (latin1) string: a Buffer per 4 KiB block costs more than hashing it. */
export function blockDigestLatin1(data: Buffer): string {
  return isZeros(data) ? zeroDigestLatin1(data.length) : hash('sha256', data, 'binary');
}

/** sha256 of `length` zeros as a 'binary' (latin1) string. */
export function zeroDigestLatin1(length: number): string {
  let d = zeroDigests.get(length);
  if (d === undefined) zeroDigests.set(length, (d = hash('sha256', Buffer.alloc(length), 'binary')));
  return d;
}

/** The format-2 group digest of a whole group of zeros (sha256 over its blocks' digests). */
export function zeroGroupDigestLatin1(blockSize: number, groupBlocks: number): string {
  return hash('sha256', Buffer.from(zeroDigestLatin1(blockSize).repeat(groupBlocks), 'latin1'), 'binary');
}
