// The one ustar header form bundles use. Every header in a bundle must be byte-identical to
// encodeHeader(name, size): the tar checksum leaves its own field unprotected, and fields like
// mtime or uname carry no meaning for us, so pinning them makes every byte of a bundle
// tamper-evident (a flipped byte anywhere is rejected, never silently ignored).
import { Header } from 'tar';
import { OutpostError } from '../errors.ts';
import { MAX_PAYLOAD_SIZE, TAR_BLOCK } from './format.ts';

const NAME_FIELD = 100;

function octal(buf: Buffer, off: number, width: number, value: number): void {
  // width-1 zero-padded octal digits, then NUL (the POSIX/GNU/Python spelling).
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', off, width, 'ascii');
}

export function encodeHeader(name: string, size: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > NAME_FIELD) throw new OutpostError('E_BUNDLE_ENTRY_NAME', `entry name too long: ${name}`);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_PAYLOAD_SIZE) {
    throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `entry size out of range: ${size}`);
  }
  const h = Buffer.alloc(TAR_BLOCK);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, 0o644); // mode
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime: fixed, so the same inputs give the same bytes
  h.write('0', 156, 'ascii'); // typeflag: regular file
  h.write('ustar\u000000', 257, 'binary'); // magic "ustar\0" + version "00"
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

export type HeaderCheck = { kind: 'eof' } | { kind: 'entry'; name: string; size: number };

function unsafeName(name: string): string | null {
  if (name.startsWith('/')) return 'absolute path';
  if (name.split('/').some((s) => s === '..')) return 'parent-directory segment';
  if (/[\u0000-\u001f\u007f\\]/.test(name)) return 'control character or backslash';
  return null;
}

/**
 * Checks one raw 512-byte header block as read from the stream (offset is for messages).
 * Order matters for the error codes: a damaged header is E_BUNDLE_TAR even if the damage
 * happens to hit the type byte; a well-formed link or device is E_BUNDLE_ENTRY_TYPE.
 */
export function checkHeader(block: Buffer, offset: number): HeaderCheck {
  if (block.length !== TAR_BLOCK) throw new OutpostError('E_BUNDLE_TRUNCATED', `short tar header at ${offset}`);
  if (block.every((b) => b === 0)) return { kind: 'eof' };
  let h: Header;
  try {
    h = new Header(block);
  } catch (err) {
    throw new OutpostError('E_BUNDLE_TAR', `unreadable tar header at ${offset}: ${(err as Error).message}`);
  }
  if (!h.cksumValid) throw new OutpostError('E_BUNDLE_TAR', `tar header checksum mismatch at ${offset}`);
  const name = h.path ?? '';
  if (h.type !== 'File') {
    throw new OutpostError('E_BUNDLE_ENTRY_TYPE', `entry "${name}" at ${offset} is ${h.type}; only regular files are allowed`);
  }
  const bad = unsafeName(name);
  if (bad) throw new OutpostError('E_BUNDLE_ENTRY_NAME', `entry "${name}" at ${offset}: ${bad}`);
  const size = h.size;
  if (size === undefined || !Number.isSafeInteger(size) || size < 0 || size > MAX_PAYLOAD_SIZE) {
    throw new OutpostError('E_BUNDLE_TAR', `entry "${name}" at ${offset}: bad size field`);
  }
  if (Buffer.byteLength(name) > NAME_FIELD || !encodeHeader(name, size).equals(block)) {
    throw new OutpostError('E_BUNDLE_TAR_HEADER', `entry "${name}" at ${offset}: header is not in the canonical form`);
  }
  return { kind: 'entry', name, size };
}
