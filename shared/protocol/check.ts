// Tiny field checkers for the codec. Each throws ProtocolViolation with the field path, so an
// error reply can say exactly what was wrong without echoing the (possibly hostile) value.
import { OutpostError, type ErrorCode } from '../errors.ts';
import { LIMITS } from './limits.ts';

export class ProtocolViolation extends OutpostError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'ProtocolViolation';
  }
}

export type Obj = Record<string, unknown>;

export function bad(path: string, what: string): never {
  throw new ProtocolViolation('E_PROTOCOL_FIELD', `${path}: ${what}`);
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rejects keys outside `allowed`, so typos and smuggled fields are caught at the edge. */
export function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${path}.${k.slice(0, 32)}`, 'unknown field');
}

export function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) bad(path, 'expected an object');
  return v;
}

export function str(v: unknown, path: string, max: number, min = 1): string {
  if (typeof v !== 'string') bad(path, 'expected a string');
  if (v.length < min || v.length > max) bad(path, `length must be ${min}..${max}`);
  return v;
}

export function optStr(v: unknown, path: string, max: number): string | undefined {
  return v === undefined ? undefined : str(v, path, max);
}

const TOKEN = /^[A-Za-z0-9._:-]+$/;
export function token(v: unknown, path: string, max: number = LIMITS.id): string {
  const s = str(v, path, max);
  if (!TOKEN.test(s)) bad(path, 'only letters, digits and . _ : - allowed');
  return s;
}

export function int(v: unknown, path: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) bad(path, 'expected an integer');
  if (v < min || v > max) bad(path, `must be ${min}..${max}`);
  return v;
}

export function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, 'expected a finite number');
  if (v < min || v > max) bad(path, `must be ${min}..${max}`);
  return v;
}

export function optNum(v: unknown, path: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : num(v, path, min, max);
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') bad(path, 'expected true or false');
  return v;
}

export function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) bad(path, 'expected an array');
  if (v.length > max) bad(path, `at most ${max} items`);
  return v;
}

export function oneOf<const T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) bad(path, `expected one of ${values.join(', ')}`);
  return v as T;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** base64 whose decoded length is within bounds (checked without trusting the string). */
export function base64(v: unknown, path: string, minBytes: number, maxBytes: number): string {
  const s = str(v, path, Math.ceil(maxBytes / 3) * 4);
  if (!B64.test(s) || s.length % 4 !== 0) bad(path, 'expected base64');
  const n = Buffer.from(s, 'base64').length;
  if (n < minBytes || n > maxBytes) bad(path, `must decode to ${minBytes}..${maxBytes} bytes`);
  return s;
}
