// Geometry of a U-Boot environment from fw_env.config-style lines, parsed the way libubootenv
// does: `device offset size [sectorsize [sectors]]`, '#' comments, the offset in C notation
// (0x… hex, 0… octal, else decimal) and the sizes always hexadecimal ("4000" is 16 KiB).
// A second line is the redundant copy and must have the same size.
import { OutpostError } from '../../../shared/errors.ts';

export interface EnvCopyLocation {
  device: string;
  offset: number;
}

export interface UbootGeometry {
  /** Bytes per copy, header included. */
  size: number;
  copies: [EnvCopyLocation] | [EnvCopyLocation, EnvCopyLocation];
}

function bad(why: string): never {
  throw new OutpostError('E_BOOTENV_CONFIG', `fw_env.config: ${why}`);
}

function parseOffset(s: string): number {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) bad(`offset ${JSON.stringify(s)} is not a number`);
  const n = /^0[xX]/.test(s) ? parseInt(s.slice(2), 16) : s.length > 1 && s.startsWith('0') ? parseInt(s, 8) : parseInt(s, 10);
  if (!Number.isSafeInteger(n)) bad(`offset ${s} is too large`);
  return n;
}

function parseHexSize(s: string): number {
  const m = /^(?:0[xX])?([0-9a-fA-F]+)$/.exec(s);
  if (!m) bad(`size ${JSON.stringify(s)} is not hexadecimal`);
  const n = parseInt(m[1]!, 16);
  if (!Number.isSafeInteger(n)) bad(`size ${s} is too large`);
  return n;
}

export function parseFwEnvConfig(text: string): UbootGeometry {
  const copies: EnvCopyLocation[] = [];
  let size = 0;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const f = raw.trim().split(/\s+/).filter(Boolean);
    if (f.length === 0) continue;
    if (f.length < 3) bad(`line ${JSON.stringify(raw)} needs device, offset and size`);
    const envSize = parseHexSize(f[2]!);
    if (envSize <= 5) bad(`size ${f[2]} is too small for an environment`);
    if (size === 0) size = envSize;
    else if (envSize !== size) bad('both copies must have the same size');
    copies.push({ device: f[0]!, offset: parseOffset(f[1]!) });
    if (copies.length === 2) break; // libubootenv ignores further lines
  }
  if (copies.length === 0) bad('no device line');
  return { size, copies: copies as UbootGeometry['copies'] };
}

/** The config line(s) for a geometry, for handing the same layout to fw_printenv/fw_setenv. */
export function formatFwEnvConfig(g: UbootGeometry): string {
  return g.copies.map((c) => `${c.device} 0x${c.offset.toString(16)} 0x${g.size.toString(16)}\n`).join('');
}
