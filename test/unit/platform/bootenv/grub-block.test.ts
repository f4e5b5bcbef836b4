import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyGrubChanges,
  decodeGrubBlock,
  emptyGrubBlock,
  encodeGrubBlock,
  grubVars,
  GRUB_SIGNATURE,
} from '../../../../agent/platform/bootenv/grub-block.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';

const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);

test('a fresh block is the signature and # padding, 1024 bytes', () => {
  const b = encodeGrubBlock(emptyGrubBlock());
  assert.equal(b.length, 1024);
  assert.equal(b.subarray(0, GRUB_SIGNATURE.length).toString(), GRUB_SIGNATURE);
  assert.ok(b.subarray(GRUB_SIGNATURE.length).every((x) => x === 0x23));
});

test('backslash and newline are escaped with a backslash and decode back', () => {
  const vars = { a: 'x\\y', b: 'one\ntwo', c: '', d: 'a=b c' };
  const bytes = encodeGrubBlock(applyGrubChanges(emptyGrubBlock(), vars));
  assert.match(bytes.toString('latin1'), /a=x\\\\y\nb=one\\\ntwo\nc=\nd=a=b c\n#/);
  assert.deepEqual(grubVars(decodeGrubBlock(bytes)), vars);
});

test('edits keep positions, append new names, remove deleted ones and keep comments', () => {
  const start = Buffer.alloc(1024, '#');
  Buffer.from(`${GRUB_SIGNATURE}# keep me\na=1\nb=2\nc=3\n`).copy(start);
  const next = applyGrubChanges(decodeGrubBlock(start), { b: '22', a: null, z: '9' });
  const text = encodeGrubBlock(next).toString('latin1').replace(/#+$/, '');
  assert.equal(text, `${GRUB_SIGNATURE}# keep me\nb=22\nc=3\nz=9\n`);
});

test('a later duplicate wins on read; an update leaves one line', () => {
  const raw = Buffer.alloc(1024, '#');
  Buffer.from(`${GRUB_SIGNATURE}a=1\nb=2\na=3\n`).copy(raw);
  const block = decodeGrubBlock(raw);
  assert.deepEqual(grubVars(block), { a: '3', b: '2' });
  const out = encodeGrubBlock(applyGrubChanges(block, { a: '4' })).toString('latin1').replace(/#+$/, '');
  assert.equal(out, `${GRUB_SIGNATURE}a=4\nb=2\n`);
});

test('bad signature, malformed body and overflow have their own codes', () => {
  assert.throws(() => decodeGrubBlock(Buffer.alloc(1024, '#')), code('E_BOOTENV_HEADER'));
  const noEq = Buffer.alloc(1024, '#');
  Buffer.from(`${GRUB_SIGNATURE}novalue\n`).copy(noEq);
  assert.throws(() => decodeGrubBlock(noEq), code('E_BOOTENV_CORRUPT'));
  const tail = Buffer.alloc(1024, '#');
  Buffer.from(GRUB_SIGNATURE).copy(tail);
  tail[1000] = 0x41; // garbage inside the padding
  assert.throws(() => decodeGrubBlock(tail), code('E_BOOTENV_CORRUPT'));
  const big = applyGrubChanges(emptyGrubBlock(), { x: 'y'.repeat(1000) });
  assert.throws(() => encodeGrubBlock(big), code('E_BOOTENV_FULL'));
  // Exactly full still fits: signature + "x=" + value + "\n" = 1024.
  const exact = applyGrubChanges(emptyGrubBlock(), { x: 'y'.repeat(1024 - GRUB_SIGNATURE.length - 3) });
  assert.equal(encodeGrubBlock(exact).length, 1024);
});

test('names GRUB cannot read back are refused', () => {
  for (const name of ['', 'a=b', '#x', 'a\nb']) {
    assert.throws(() => applyGrubChanges(emptyGrubBlock(), { [name]: '1' }), code('E_BOOTENV_NAME'));
  }
  assert.throws(() => applyGrubChanges(emptyGrubBlock(), { a: 'x\0y' }), code('E_BOOTENV_VALUE'));
});
