// U-Boot environment image codec (pure). One copy is: CRC32 (little-endian) of the data area,
// then — only with a redundant copy — one flag byte, then the data area: `name=value\0` entries
// sorted by name (U-Boot and libubootenv both sort), an empty entry ending the list, zero fill.
// Copy selection follows libubootenv/U-Boot for file and block devices ("incremental" flags):
// a copy with a bad CRC is ignored; with both valid the higher flag wins, 255 → 0 wrapping.
import { crc32 } from 'node:zlib';
import { OutpostError } from '../../../shared/errors.ts';
import { checkName, checkValue, type EnvVars } from './vars.ts';

export interface DecodedCopy {
  crcOk: boolean;
  /** Flag byte (redundant layout only; 0 otherwise). */
  flag: number;
  vars: EnvVars;
}

const dataOffset = (redundant: boolean) => (redundant ? 5 : 4);

export function decodeUbootCopy(buf: Buffer, redundant: boolean, where = 'uboot env'): DecodedCopy {
  const off = dataOffset(redundant);
  const data = buf.subarray(off);
  const crcOk = buf.readUInt32LE(0) === crc32(data);
  const flag = redundant ? buf[4]! : 0;
  const vars: EnvVars = {};
  if (!crcOk) return { crcOk, flag, vars };
  let p = 0;
  while (p < data.length && data[p] !== 0) {
    const end = data.indexOf(0, p);
    // An entry running off the end is corrupt even with a matching CRC (libubootenv: -EIO).
    if (end < 0) throw new OutpostError('E_BOOTENV_CORRUPT', `${where}: last entry is not terminated`);
    const entry = data.subarray(p, end);
    const eq = entry.indexOf(0x3d);
    if (eq > 0) vars[entry.subarray(0, eq).toString('utf8')] = entry.subarray(eq + 1).toString('utf8');
    p = end + 1;
  }
  return { crcOk, flag, vars };
}

/** U-Boot treats an empty value as "unset"; entries are sorted bytewise like strcmp. */
export function encodeUbootCopy(vars: EnvVars, size: number, redundant: boolean, flag: number, where = 'uboot env'): Buffer {
  const names = Object.keys(vars)
    .filter((k) => vars[k] !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const off = dataOffset(redundant);
  const out = Buffer.alloc(size, 0);
  let p = off;
  for (const name of names) {
    checkName(name, where);
    checkValue(name, vars[name]!, where);
    const entry = Buffer.from(`${name}=${vars[name]}\0`, 'utf8');
    // Room must remain for the terminating empty entry.
    if (p + entry.length + 1 > size) {
      throw new OutpostError('E_BOOTENV_FULL', `${where}: variables do not fit in ${size - off} bytes of environment`);
    }
    entry.copy(out, p);
    p += entry.length;
  }
  if (redundant) out[4] = flag & 0xff;
  out.writeUInt32LE(crc32(out.subarray(off)), 0);
  return out;
}

/** Index of the copy the bootloader uses, or -1 when no copy has a valid CRC. */
export function currentCopy(copies: readonly DecodedCopy[]): number {
  const [a, b] = copies;
  if (!b) return a!.crcOk ? 0 : -1;
  if (a!.crcOk && !b.crcOk) return 0;
  if (!a!.crcOk && b.crcOk) return 1;
  if (!a!.crcOk && !b.crcOk) return -1;
  if (a!.flag === 0xff && b.flag === 0) return 1;
  if (b.flag === 0xff && a!.flag === 0) return 0;
  return b.flag > a!.flag ? 1 : 0;
}
