import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { currentCopy, decodeUbootCopy, encodeUbootCopy } from '../../../../agent/platform/bootenv/uboot-image.ts';
import { parseFwEnvConfig, formatFwEnvConfig } from '../../../../agent/platform/bootenv/fw-env-config.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';

const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);

test('layout: CRC32 LE of the data area, flag byte when redundant, sorted NUL-separated entries', () => {
  const img = encodeUbootCopy({ b: '2', a: '1', Z: 'up' }, 64, true, 7);
  assert.equal(img.length, 64);
  assert.equal(img[4], 7);
  assert.equal(img.readUInt32LE(0), crc32(img.subarray(5)));
  assert.equal(img.subarray(5, 5 + 15).toString('latin1'), 'Z=up\0a=1\0b=2\0\0\0');
  const single = encodeUbootCopy({ a: '1' }, 32, false, 0);
  assert.equal(single.subarray(4, 8).toString('latin1'), 'a=1\0');
  assert.equal(single.readUInt32LE(0), crc32(single.subarray(4)));
});

test('decode round-trips; empty values are dropped (U-Boot has no empty variables)', () => {
  const img = encodeUbootCopy({ x: 'a=b c', e: '', n: 'line\nbreak' }, 128, true, 1);
  const d = decodeUbootCopy(img, true);
  assert.deepEqual(d, { crcOk: true, flag: 1, vars: { x: 'a=b c', n: 'line\nbreak' } });
});

test('a flipped bit makes the CRC fail; an unterminated last entry is corrupt', () => {
  const img = encodeUbootCopy({ a: '1' }, 32, false, 0);
  img[6] ^= 1;
  assert.equal(decodeUbootCopy(img, false).crcOk, false);
  const full = Buffer.alloc(16, 0x41);
  full.writeUInt32LE(crc32(full.subarray(4)), 0);
  assert.throws(() => decodeUbootCopy(full, false), code('E_BOOTENV_CORRUPT'));
});

test('variables that do not fit fail with E_BOOTENV_FULL', () => {
  assert.throws(() => encodeUbootCopy({ a: 'x'.repeat(60) }, 64, true, 1), code('E_BOOTENV_FULL'));
  // 5 header + "a=" + 55 + NUL + final NUL = 64: fits exactly.
  assert.equal(encodeUbootCopy({ a: 'x'.repeat(55) }, 64, true, 1).length, 64);
});

test('copy selection: valid CRC first, then the higher flag, with 255 → 0 wrapping', () => {
  const c = (crcOk: boolean, flag: number) => ({ crcOk, flag, vars: {} });
  assert.equal(currentCopy([c(true, 5), c(false, 9)]), 0);
  assert.equal(currentCopy([c(false, 9), c(true, 5)]), 1);
  assert.equal(currentCopy([c(false, 1), c(false, 2)]), -1);
  assert.equal(currentCopy([c(true, 3), c(true, 4)]), 1);
  assert.equal(currentCopy([c(true, 4), c(true, 3)]), 0);
  assert.equal(currentCopy([c(true, 255), c(true, 0)]), 1);
  assert.equal(currentCopy([c(true, 0), c(true, 255)]), 0);
  assert.equal(currentCopy([c(true, 2), c(true, 2)]), 0);
  assert.equal(currentCopy([c(true, 0)]), 0);
  assert.equal(currentCopy([c(false, 0)]), -1);
});

test('fw_env.config: offsets in C notation, sizes always hex, comments, two copies', () => {
  const g = parseFwEnvConfig('# comment\n/dev/mmcblk0 0x400000 0x4000\n/dev/mmcblk0 4210688 4000 200 1\n');
  assert.deepEqual(g, { size: 0x4000, copies: [{ device: '/dev/mmcblk0', offset: 0x400000 }, { device: '/dev/mmcblk0', offset: 4210688 }] });
  assert.deepEqual(parseFwEnvConfig('/f 010 20').copies[0], { device: '/f', offset: 8 });
  assert.equal(parseFwEnvConfig('/f 0 20').size, 0x20);
  assert.deepEqual(parseFwEnvConfig(formatFwEnvConfig(g)), g);
  for (const bad of ['', '# only\n', '/f 0', '/f x 10', '/f 0 zz', '/f 0 0x1000\n/f 0x1000 0x2000', '/f 0 4']) {
    assert.throws(() => parseFwEnvConfig(bad), code('E_BOOTENV_CONFIG'), bad);
  }
});
