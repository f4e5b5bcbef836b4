// GRUB environment block codec (pure). Mirrors grub-core/lib/envblk.c: a signature line, then
// `name=value\n` lines where '\' and '\n' in a value are escaped by a preceding '\', lines that
// start with '#' are comments (Debian's grub-editenv writes a warning comment), and '#' padding
// fills the block to its fixed size. Existing variables keep their position and new ones are
// appended, so our output is byte-identical to grub-editenv's for the same edits.
import { OutpostError } from '../../../shared/errors.ts';
import { checkName, checkValue, type EnvChanges, type EnvVars } from './vars.ts';

export const GRUB_SIGNATURE = '# GRUB Environment Block\n';
export const GRUB_BLOCK_SIZE = 1024;

export type GrubLine = { kind: 'comment'; raw: Buffer } | { kind: 'var'; name: string; value: string };

export interface GrubBlock {
  size: number;
  lines: GrubLine[];
}

const NL = 0x0a;
const HASH = 0x23;
const BSL = 0x5c;
const EQ = 0x3d;

function corrupt(where: string, why: string): never {
  throw new OutpostError('E_BOOTENV_CORRUPT', `${where}: malformed GRUB environment block (${why})`);
}

export function decodeGrubBlock(buf: Buffer, where = 'grubenv'): GrubBlock {
  const sig = Buffer.from(GRUB_SIGNATURE, 'latin1');
  if (buf.length < sig.length || !buf.subarray(0, sig.length).equals(sig)) {
    throw new OutpostError('E_BOOTENV_HEADER', `${where}: no "# GRUB Environment Block" signature`);
  }
  // Padding: the '#' run at the end must follow a newline, as grub_envblk_set requires.
  let end = buf.length;
  while (end > sig.length && buf[end - 1] === HASH) end--;
  if (buf[end - 1] !== NL) corrupt(where, 'padding does not follow a complete line');

  const lines: GrubLine[] = [];
  let p = sig.length;
  while (p < end) {
    if (buf[p] === HASH) {
      const nl = buf.indexOf(NL, p);
      lines.push({ kind: 'comment', raw: Buffer.from(buf.subarray(p, nl + 1)) });
      p = nl + 1;
      continue;
    }
    const eq = buf.indexOf(EQ, p);
    if (eq < 0 || eq >= end) corrupt(where, 'line without "="');
    const name = buf.subarray(p, eq);
    if (name.includes(NL)) corrupt(where, 'line without "="');
    const value: number[] = [];
    let q = eq + 1;
    for (; q < end && buf[q] !== NL; q++) {
      if (buf[q] === BSL) q++;
      if (q >= end) break;
      value.push(buf[q]!);
    }
    if (q >= end) corrupt(where, 'unterminated value');
    lines.push({ kind: 'var', name: name.toString('utf8'), value: Buffer.from(value).toString('utf8') });
    p = q + 1;
  }
  return { size: buf.length, lines };
}

/** Variables as GRUB's load_env sees them (a later duplicate wins). */
export function grubVars(block: GrubBlock): EnvVars {
  const out: EnvVars = {};
  for (const l of block.lines) if (l.kind === 'var') out[l.name] = l.value;
  return out;
}

export function checkGrubName(name: string, where: string): void {
  checkName(name, where);
  // A name starting with '#' is written by grub-editenv but read back as a comment: refuse it.
  if (name.startsWith('#')) throw new OutpostError('E_BOOTENV_NAME', `${where}: variable name may not start with "#"`);
}

/** Edits in place: changed variables keep their line, new ones are appended, null removes. */
export function applyGrubChanges(block: GrubBlock, changes: EnvChanges, where = 'grubenv'): GrubBlock {
  const lines = [...block.lines];
  for (const [name, value] of Object.entries(changes)) {
    checkGrubName(name, where);
    if (value !== null) checkValue(name, value, where);
    const first = lines.findIndex((l) => l.kind === 'var' && l.name === name);
    // Drop every occurrence after the first so the result has one unambiguous value.
    for (let i = lines.length - 1; i > first && first >= 0; i--) {
      const l = lines[i]!;
      if (l.kind === 'var' && l.name === name) lines.splice(i, 1);
    }
    if (value === null) {
      if (first >= 0) lines.splice(first, 1);
    } else if (first >= 0) {
      lines[first] = { kind: 'var', name, value };
    } else {
      lines.push({ kind: 'var', name, value });
    }
  }
  return { size: block.size, lines };
}

function escapeValue(value: string): Buffer {
  const raw = Buffer.from(value, 'utf8');
  const out: number[] = [];
  for (const b of raw) {
    if (b === BSL || b === NL) out.push(BSL);
    out.push(b);
  }
  return Buffer.from(out);
}

export function encodeGrubBlock(block: GrubBlock, where = 'grubenv'): Buffer {
  const parts: Buffer[] = [Buffer.from(GRUB_SIGNATURE, 'latin1')];
  for (const l of block.lines) {
    if (l.kind === 'comment') parts.push(l.raw);
    else parts.push(Buffer.from(`${l.name}=`, 'utf8'), escapeValue(l.value), Buffer.from('\n'));
  }
  const body = Buffer.concat(parts);
  if (body.length > block.size) {
    throw new OutpostError('E_BOOTENV_FULL', `${where}: variables need ${body.length} bytes, the block holds ${block.size}`);
  }
  const out = Buffer.alloc(block.size, HASH);
  body.copy(out);
  return out;
}

/** A fresh block, like `grub-editenv FILE create`. */
export function emptyGrubBlock(size = GRUB_BLOCK_SIZE): GrubBlock {
  return { size, lines: [] };
}
