// The frame layer both directions share: size and JSON checks, the envelope, the forward
// compatibility rules, and the few field readers every message type uses.
import { LIMITS, MAX_FRAME_BYTES, PROTOCOL_VERSION } from './limits.ts';
import { ProtocolViolation, bad, isObj, onlyKeys, str, token, type Obj } from './check.ts';
import type { ErrorMessage, Ext } from './messages.ts';
import type { ErrorCode } from '../error-codes.ts';

export const ENVELOPE = ['v', 'type', 'id'];
export const REPORT = [...ENVELOPE, 'seq', 'at'];

export type Decoded<T> =
  | { ok: true; message: T }
  /** `ref` is the offending message's id when it was readable, so the reply can point at it. */
  | { ok: false; code: ErrorCode; reason: string; ref?: string };

function parseFrame(frame: string | Buffer): Obj {
  const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  if (size > MAX_FRAME_BYTES) throw new ProtocolViolation('E_PROTOCOL_FRAME', `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8'));
  } catch {
    throw new ProtocolViolation('E_PROTOCOL_JSON', 'frame is not valid JSON');
  }
  if (!isObj(raw)) throw new ProtocolViolation('E_PROTOCOL_JSON', 'frame is not a JSON object');
  return raw;
}

function readableId(o: Obj): string | undefined {
  const id = o.id;
  return typeof id === 'string' && id.length <= LIMITS.id && /^[A-Za-z0-9._:-]+$/.test(id) ? id : undefined;
}

// Forward compatibility (PROTOCOL.md §2): any message may carry an `ext` object whose keys a
// receiver that does not know them ignores, and an unknown `type` is answered with
// E_PROTO_UNKNOWN_TYPE (the link stays up). Every other unknown field stays an error.
export function decode<T>(frame: string | Buffer, byType: Record<string, (o: Obj) => T>): Decoded<T> {
  let o: Obj | undefined;
  try {
    o = parseFrame(frame);
    if (o.v !== PROTOCOL_VERSION) throw new ProtocolViolation('E_PROTOCOL_VERSION', `unsupported protocol version`);
    token(o.id, 'id');
    if (typeof o.type !== 'string') throw new ProtocolViolation('E_PROTOCOL_TYPE', 'type: expected a string');
    if (!Object.hasOwn(byType, o.type)) throw new ProtocolViolation('E_PROTO_UNKNOWN_TYPE', `unknown message type`);
    const { ext, ...rest } = o;
    if (ext !== undefined && !isObj(ext)) bad('ext', 'expected an object');
    const message = byType[o.type]!(rest);
    return { ok: true, message: ext === undefined ? message : { ...message, ext: ext as Ext } };
  } catch (err) {
    if (!(err instanceof ProtocolViolation)) throw err;
    const ref = o ? readableId(o) : undefined;
    return { ok: false, code: err.code, reason: err.message, ...(ref ? { ref } : {}) };
  }
}

export function env(o: Obj): { v: 1; id: string } {
  return { v: 1, id: o.id as string };
}

export function optional<T>(o: Obj, key: string, read: (v: unknown, path: string) => T): Partial<Record<string, T>> {
  return o[key] === undefined ? {} : { [key]: read(o[key], key) };
}

export const code = (v: unknown, path: string) => {
  const s = token(v, path, LIMITS.shortText);
  if (!/^E_[A-Z0-9_]+$/.test(s)) bad(path, 'expected an error code like E_SOMETHING');
  return s;
};

export function errorOf(o: Obj): ErrorMessage {
  onlyKeys(o, [...ENVELOPE, 'ref', 'code', 'message'], 'error');
  return {
    ...env(o), type: 'error',
    ...optional(o, 'ref', (v, p) => token(v, p)),
    code: code(o.code, 'code'),
    message: str(o.message, 'message', LIMITS.text, 0),
  };
}
