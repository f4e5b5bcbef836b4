// Parse + validate every frame before anything acts on it. No schema library: the checks are
// short, explicit, and return fresh objects holding only known fields.
import { LIMITS, MAX_FRAME_BYTES, PROTOCOL_VERSION } from './limits.ts';
import {
  ProtocolViolation, arr, bad, base64, bool, int, isObj, num, obj, oneOf, onlyKeys, optNum, optStr, str, token,
  type Obj,
} from './check.ts';
import { OUTCOME_RESULTS } from './messages.ts';
import type {
  TransferInfo,
  AgentMessage, CommandAck, ErrorMessage, Ext, PushedHealthCheck, SiteIdentity, HubMessage, Inventory, Offer, PushedConfig, Report, Scalar, Window,
} from './messages.ts';
import type { ErrorCode } from '../error-codes.ts';

export { ProtocolViolation } from './check.ts';

const ENVELOPE = ['v', 'type', 'id'];
const REPORT = [...ENVELOPE, 'seq', 'at'];

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
function decode<T>(frame: string | Buffer, byType: Record<string, (o: Obj) => T>): Decoded<T> {
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

// ---- shared pieces ----------------------------------------------------------------------------

function env(o: Obj): { v: 1; id: string } {
  return { v: 1, id: o.id as string };
}

function scalar(v: unknown, path: string): Scalar {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return num(v, path, -Number.MAX_VALUE, Number.MAX_VALUE);
  if (typeof v === 'string') return str(v, path, LIMITS.inventoryValue, 0);
  return bad(path, 'expected a string, number, boolean or null');
}

function inventory(v: unknown, path: string): Inventory {
  const o = obj(v, path);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.inventoryKeys) bad(path, `at most ${LIMITS.inventoryKeys} keys`);
  const out: Inventory = Object.create(null);
  for (const k of keys) {
    str(k, `${path} key`, LIMITS.inventoryKey);
    out[k] = scalar(o[k], `${path}.${k.slice(0, 32)}`);
  }
  return out;
}

// Shape only: shared/ cannot parse cron or check zones without the agent's window maths, so
// the agent validates the expression and zone itself and refuses the command with E_WINDOW_*.
function windows(v: unknown, path: string, withRate = true): Window[] {
  return arr(v, path, LIMITS.windows).map((w, i) => {
    const p = `${path}[${i}]`;
    const o = obj(w, p);
    onlyKeys(o, ['cron', 'durationMinutes', 'timezone', ...(withRate ? ['maxBytesPerSecond'] : [])], p);
    const cron = str(o.cron, `${p}.cron`, LIMITS.shortText);
    if (!/^(@[a-z]+|\S+( \S+){4})$/.test(cron)) bad(`${p}.cron`, 'expected 5 cron fields separated by single spaces, or @daily-style');
    const d = o.durationMinutes;
    if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0 || d > LIMITS.windowMinutes) bad(`${p}.durationMinutes`, `expected minutes in (0, ${LIMITS.windowMinutes}]`);
    const out: Window = { cron, durationMinutes: d as number, timezone: str(o.timezone, `${p}.timezone`, LIMITS.shortText) };
    if (o.maxBytesPerSecond !== undefined && o.maxBytesPerSecond !== null) {
      const r = o.maxBytesPerSecond;
      if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) bad(`${p}.maxBytesPerSecond`, 'expected a positive number or null');
      out.maxBytesPerSecond = r as number;
    } else if (o.maxBytesPerSecond === null) out.maxBytesPerSecond = null;
    return out;
  });
}

function optional<T>(o: Obj, key: string, read: (v: unknown, path: string) => T): Partial<Record<string, T>> {
  return o[key] === undefined ? {} : { [key]: read(o[key], key) };
}

const inventoryHash = (v: unknown, path: string) => {
  const s = str(v, path, 71, 71);
  if (!/^sha256:[0-9a-f]{64}$/.test(s)) bad(path, 'expected sha256: and 64 lowercase hex digits');
  return s;
};

const code = (v: unknown, path: string) => {
  const s = token(v, path, LIMITS.shortText);
  if (!/^E_[A-Z0-9_]+$/.test(s)) bad(path, 'expected an error code like E_SOMETHING');
  return s;
};

const shortText = (v: unknown, p: string) => str(v, p, LIMITS.shortText);
const text = (v: unknown, p: string) => str(v, p, LIMITS.text);

/** The node's surveyed site (its config's location section), sent with location reports. */
function site(v: unknown, path: string): SiteIdentity {
  const o = obj(v, path);
  onlyKeys(o, ['id', 'name', 'address', 'lat', 'lon', 'altM', 'accuracyM', 'surveyedAt', 'rack', 'row', 'unit', 'radiusM'], path);
  const at = (k: string) => `${path}.${k}`;
  const out: SiteIdentity = {};
  if (o.id !== undefined) out.id = shortText(o.id, at('id'));
  if (o.name !== undefined) out.name = text(o.name, at('name'));
  if (o.address !== undefined) out.address = text(o.address, at('address'));
  if (o.lat !== undefined) out.lat = num(o.lat, at('lat'), -90, 90);
  if (o.lon !== undefined) out.lon = num(o.lon, at('lon'), -180, 180);
  if (o.altM !== undefined) out.altM = num(o.altM, at('altM'), -20_000, 100_000);
  if (o.accuracyM !== undefined) out.accuracyM = num(o.accuracyM, at('accuracyM'), 0, 1e7);
  if (o.surveyedAt !== undefined) out.surveyedAt = shortText(o.surveyedAt, at('surveyedAt'));
  if (o.rack !== undefined) out.rack = shortText(o.rack, at('rack'));
  if (o.row !== undefined) out.row = shortText(o.row, at('row'));
  if (o.unit !== undefined) out.unit = shortText(o.unit, at('unit'));
  if (o.radiusM !== undefined) out.radiusM = num(o.radiusM, at('radiusM'), 0, 1e7);
  return out;
}

// ---- agent → hub ------------------------------------------------------------------------------

function transferInfo(v: unknown, path: string): TransferInfo {
  const o = obj(v, path);
  onlyKeys(o, ['mode', 'fullBytes', 'plannedBytes', 'fetchedBytes', 'localBytes', 'requests'], path);
  return {
    mode: oneOf(o.mode, `${path}.mode`, ['full', 'delta'] as const),
    fullBytes: int(o.fullBytes, `${path}.fullBytes`, 0),
    plannedBytes: int(o.plannedBytes, `${path}.plannedBytes`, 0),
    fetchedBytes: int(o.fetchedBytes, `${path}.fetchedBytes`, 0),
    localBytes: int(o.localBytes, `${path}.localBytes`, 0),
    requests: int(o.requests, `${path}.requests`, 0),
  };
}

/** Bundle labels (compatible strings, versions) as the bundle manifest spells them. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._+:/-]*$/;
function label(v: unknown, path: string): string {
  const s = str(v, path, LIMITS.label);
  if (!LABEL.test(s)) bad(path, 'expected a bundle label (letters, digits, . _ + : / -)');
  return s;
}

/** hello.site: only what a hub targets by (the location report carries the full survey). */
function helloSite(v: unknown, path: string): { id?: string; name?: string } {
  const o = obj(v, path);
  onlyKeys(o, ['id', 'name'], path);
  const id = optStr(o.id, `${path}.id`, LIMITS.shortText);
  const name = optStr(o.name, `${path}.name`, LIMITS.text);
  return { ...(id === undefined ? {} : { id }), ...(name === undefined ? {} : { name }) };
}

function running(v: unknown, path: string): { version: string; release: number; slot: string } {
  const o = obj(v, path);
  onlyKeys(o, ['version', 'release', 'slot'], path);
  return { version: label(o.version, `${path}.version`), release: int(o.release, `${path}.release`, 0), slot: token(o.slot, `${path}.slot`, LIMITS.shortText) };
}

function report(o: Obj, keys: string[]): { v: 1; id: string; seq: number; at: number } {
  onlyKeys(o, [...REPORT, ...keys], o.type as string);
  return { ...env(o), seq: int(o.seq, 'seq', 1), at: int(o.at, 'at', 0) };
}

const AGENT: Record<string, (o: Obj) => AgentMessage> = {
  hello: (o) => {
    onlyKeys(o, [...ENVELOPE, 'deviceId', 'agentVersion', 'publicKey', 'capabilities', 'compatible', 'site', 'running'], 'hello');
    return {
      ...env(o), type: 'hello',
      deviceId: token(o.deviceId, 'deviceId', LIMITS.deviceId),
      agentVersion: str(o.agentVersion, 'agentVersion', LIMITS.shortText),
      publicKey: base64(o.publicKey, 'publicKey', 32, 32),
      capabilities: arr(o.capabilities, 'capabilities', LIMITS.capabilities).map((c, i) => token(c, `capabilities[${i}]`, LIMITS.shortText)),
      // Optional on the wire only for agents that predate them; targeting needs them.
      ...optional(o, 'compatible', (v, p) => arr(v, p, LIMITS.compatible).map((c, i) => label(c, `${p}[${i}]`))),
      ...optional(o, 'site', helloSite),
      ...optional(o, 'running', running),
    };
  },
  auth: (o) => {
    onlyKeys(o, [...ENVELOPE, 'signature'], 'auth');
    return { ...env(o), type: 'auth', signature: base64(o.signature, 'signature', 64, 64) };
  },
  inventory: (o) => {
    const mode = oneOf(o.mode, 'mode', ['full', 'diff'] as const);
    if (mode === 'full') {
      return { ...report(o, ['mode', 'hash', 'data']), type: 'inventory', mode, ...optional(o, 'hash', inventoryHash), data: inventory(o.data, 'data') };
    }
    const unset = arr(o.unset, 'unset', LIMITS.inventoryKeys).map((k, i) => str(k, `unset[${i}]`, LIMITS.inventoryKey));
    return {
      ...report(o, ['mode', 'base', 'hash', 'set', 'unset']), type: 'inventory', mode,
      ...optional(o, 'base', inventoryHash), ...optional(o, 'hash', inventoryHash), set: inventory(o.set, 'set'), unset,
    };
  },
  location: (o) => ({
    ...report(o, ['lat', 'lon', 'altM', 'accuracyM', 'source', 'fixAt', 'moved', 'site']), type: 'location',
    lat: num(o.lat, 'lat', -90, 90),
    lon: num(o.lon, 'lon', -180, 180),
    ...optional(o, 'altM', (v, p) => num(v, p, -20_000, 100_000)),
    ...optional(o, 'accuracyM', (v, p) => num(v, p, 0, 1e7)),
    source: token(o.source, 'source', LIMITS.shortText),
    fixAt: int(o.fixAt, 'fixAt', 0),
    ...optional(o, 'moved', bool),
    ...optional(o, 'site', site),
  }),
  'update.progress': (o) => ({
    ...report(o, ['deploymentId', 'phase', 'done', 'total', 'transfer']), type: 'update.progress',
    deploymentId: token(o.deploymentId, 'deploymentId'),
    phase: token(o.phase, 'phase', LIMITS.shortText),
    done: int(o.done, 'done', 0),
    total: int(o.total, 'total', 0),
    ...optional(o, 'transfer', transferInfo),
  }),
  'update.state': (o) => ({
    ...report(o, ['deploymentId', 'state', 'code', 'message']), type: 'update.state',
    deploymentId: token(o.deploymentId, 'deploymentId'),
    state: token(o.state, 'state', LIMITS.shortText),
    ...optional(o, 'code', code),
    ...optional(o, 'message', (v, p) => str(v, p, LIMITS.text, 0)),
  }),
  'update.outcome': (o) => ({
    ...report(o, ['deploymentId', 'result', 'version', 'code', 'message', 'log']), type: 'update.outcome',
    deploymentId: token(o.deploymentId, 'deploymentId'),
    result: oneOf(o.result, 'result', OUTCOME_RESULTS),
    ...optional(o, 'version', (v, p) => str(v, p, LIMITS.shortText)),
    ...optional(o, 'code', code),
    ...optional(o, 'message', (v, p) => str(v, p, LIMITS.text, 0)),
    log: str(o.log, 'log', LIMITS.log, 0),
  }),
  'command.result': (o) => ({
    ...report(o, ['ref', 'ok', 'code', 'message']), type: 'command.result',
    ref: token(o.ref, 'ref'),
    ok: bool(o.ok, 'ok'),
    ...optional(o, 'code', code),
    ...optional(o, 'message', (v, p) => str(v, p, LIMITS.text, 0)),
  }),
  ack: (o) => ackOf(o),
  error: (o) => errorOf(o),
};

function ackOf(o: Obj): CommandAck {
  onlyKeys(o, [...ENVELOPE, 'ref', 'result', 'code', 'message', 'retryAfterS'], 'ack');
  return {
    ...env(o), type: 'ack',
    ref: token(o.ref, 'ref'),
    result: oneOf(o.result, 'result', ['accepted', 'duplicate', 'rejected'] as const),
    ...optional(o, 'code', code),
    ...optional(o, 'message', (v, p) => str(v, p, LIMITS.text, 0)),
    ...optional(o, 'retryAfterS', (v, p) => int(v, p, 1, LIMITS.maxBackoffS)),
  };
}

function errorOf(o: Obj): ErrorMessage {
  onlyKeys(o, [...ENVELOPE, 'ref', 'code', 'message'], 'error');
  return {
    ...env(o), type: 'error',
    ...optional(o, 'ref', (v, p) => token(v, p)),
    code: code(o.code, 'code'),
    message: str(o.message, 'message', LIMITS.text, 0),
  };
}

// ---- hub → agent ------------------------------------------------------------------------------

// Names only: a pushed entry carrying a command is refused with its own code, so a hub still
// speaking the old form learns why instead of a generic field error.
function healthChecks(v: unknown, path: string): PushedHealthCheck[] {
  const seen = new Set<string>();
  return arr(v, path, LIMITS.healthChecks).map((h, i) => {
    const p = `${path}[${i}]`;
    let out: PushedHealthCheck;
    if (typeof h === 'string') out = { name: token(h, p, LIMITS.shortText) };
    else {
      const o = obj(h, p);
      if (o.command !== undefined) {
        throw new ProtocolViolation('E_PUSH_HEALTH_CHECK', `${p}.command: a pushed health check names a check provisioned on the node; it cannot carry a command`);
      }
      onlyKeys(o, ['name', 'timeoutS'], p);
      out = { name: token(o.name, `${p}.name`, LIMITS.shortText) };
      if (o.timeoutS !== undefined) out.timeoutS = int(o.timeoutS, `${p}.timeoutS`, 1, 3600);
    }
    if (seen.has(out.name)) bad(`${p}.name`, 'named twice');
    seen.add(out.name);
    return out;
  });
}

/** Hub-pushed settings; exported so the agent can re-validate what it persisted. */
export function pushedConfig(v: unknown, path = 'config'): PushedConfig {
  const o = obj(v, path);
  onlyKeys(o, ['windows', 'installWindows', 'reportIntervals', 'healthChecks'], path);
  const out: PushedConfig = {};
  if (o.windows !== undefined) out.windows = windows(o.windows, `${path}.windows`);
  if (o.installWindows !== undefined) out.installWindows = windows(o.installWindows, `${path}.installWindows`, false);
  if (o.reportIntervals !== undefined) {
    const r = obj(o.reportIntervals, `${path}.reportIntervals`);
    onlyKeys(r, ['inventoryS', 'locationS'], `${path}.reportIntervals`);
    out.reportIntervals = {};
    const inv = optNum(r.inventoryS, `${path}.reportIntervals.inventoryS`, 10, 7 * 86_400);
    const loc = optNum(r.locationS, `${path}.reportIntervals.locationS`, 10, 7 * 86_400);
    if (inv !== undefined) out.reportIntervals.inventoryS = inv;
    if (loc !== undefined) out.reportIntervals.locationS = loc;
  }
  if (o.healthChecks !== undefined) out.healthChecks = healthChecks(o.healthChecks, `${path}.healthChecks`);
  return out;
}

function bundleUrl(v: unknown, path: string): string {
  const s = str(v, path, LIMITS.url);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad(path, 'expected an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') bad(path, 'expected an http(s) URL');
  return s;
}

const HUB: Record<string, (o: Obj) => HubMessage> = {
  challenge: (o) => {
    onlyKeys(o, [...ENVELOPE, 'nonce'], 'challenge');
    return { ...env(o), type: 'challenge', nonce: base64(o.nonce, 'nonce', 32, 64) };
  },
  'auth.result': (o) => {
    const result = oneOf(o.result, 'result', ['accepted', 'pending', 'rejected'] as const);
    if (result === 'accepted') {
      onlyKeys(o, [...ENVELOPE, 'result', 'ackedSeq', 'node', 'hubTime', 'inventoryHash'], 'auth.result');
      return {
        ...env(o), type: 'auth.result', result, ackedSeq: int(o.ackedSeq, 'ackedSeq', 0), node: token(o.node, 'node', LIMITS.shortText),
        ...optional(o, 'hubTime', (v, p) => int(v, p, 0)), ...optional(o, 'inventoryHash', inventoryHash),
      };
    }
    if (result === 'pending') {
      onlyKeys(o, [...ENVELOPE, 'result', 'retryAfterS', 'node'], 'auth.result');
      return {
        ...env(o), type: 'auth.result', result,
        retryAfterS: int(o.retryAfterS, 'retryAfterS', 1, LIMITS.maxBackoffS), node: token(o.node, 'node', LIMITS.shortText),
      };
    }
    onlyKeys(o, [...ENVELOPE, 'result', 'code', 'message'], 'auth.result');
    return { ...env(o), type: 'auth.result', result, code: code(o.code, 'code'), message: str(o.message, 'message', LIMITS.text, 0) };
  },
  'report.ack': (o) => {
    onlyKeys(o, [...ENVELOPE, 'upTo'], 'report.ack');
    return { ...env(o), type: 'report.ack', upTo: int(o.upTo, 'upTo', 0) };
  },
  offer: (o) => {
    onlyKeys(o, [...ENVELOPE, 'deploymentId', 'bundle', 'version', 'release', 'now', 'windows', 'installWindows'], 'offer');
    const b = obj(o.bundle, 'bundle');
    onlyKeys(b, ['url', 'size', 'sha256', 'manifestSha256'], 'bundle');
    const bundle: { url: string; size: number; sha256?: string; manifestSha256?: string } = { url: bundleUrl(b.url, 'bundle.url'), size: int(b.size, 'bundle.size', 0) };
    if (b.manifestSha256 !== undefined) {
      const h = str(b.manifestSha256, 'bundle.manifestSha256', 64, 64);
      if (!/^[0-9a-f]{64}$/.test(h)) bad('bundle.manifestSha256', 'expected 64 lowercase hex digits');
      bundle.manifestSha256 = h;
    }
    if (b.sha256 !== undefined) {
      const h = str(b.sha256, 'bundle.sha256', 64, 64);
      if (!/^[0-9a-f]{64}$/.test(h)) bad('bundle.sha256', 'expected 64 lowercase hex digits');
      bundle.sha256 = h;
    }
    const when: Pick<Offer, 'now' | 'windows' | 'installWindows'> = {};
    if (o.now !== undefined) {
      if (o.now !== true) bad('now', 'expected true or absent');
      when.now = true;
      if (o.windows !== undefined) bad('windows', 'not with "now" (download windows do not apply)');
    }
    if (o.windows !== undefined) when.windows = windows(o.windows, 'windows');
    if (o.installWindows !== undefined) when.installWindows = windows(o.installWindows, 'installWindows', false);
    return {
      ...env(o), type: 'offer',
      deploymentId: token(o.deploymentId, 'deploymentId'),
      bundle,
      version: str(o.version, 'version', LIMITS.shortText),
      release: str(o.release, 'release', 128),
      ...when,
    };
  },
  cancel: (o) => {
    onlyKeys(o, [...ENVELOPE, 'deploymentId'], 'cancel');
    return { ...env(o), type: 'cancel', deploymentId: token(o.deploymentId, 'deploymentId') };
  },
  reboot: (o) => {
    onlyKeys(o, [...ENVELOPE, 'reason'], 'reboot');
    const reason = optStr(o.reason, 'reason', LIMITS.text);
    return { ...env(o), type: 'reboot', ...(reason === undefined ? {} : { reason }) };
  },
  'inventory.refresh': (o) => {
    onlyKeys(o, ENVELOPE, 'inventory.refresh');
    return { ...env(o), type: 'inventory.refresh' };
  },
  'config.push': (o) => {
    onlyKeys(o, [...ENVELOPE, 'config'], 'config.push');
    return { ...env(o), type: 'config.push', config: pushedConfig(o.config) };
  },
  backoff: (o) => {
    onlyKeys(o, [...ENVELOPE, 'retryAfterS'], 'backoff');
    return { ...env(o), type: 'backoff', retryAfterS: int(o.retryAfterS, 'retryAfterS', 1, LIMITS.maxBackoffS) };
  },
  error: (o) => errorOf(o),
};

/** Hub side: decode one frame from an agent. */
export function decodeAgentMessage(frame: string | Buffer): Decoded<AgentMessage> {
  return decode(frame, AGENT);
}

/** Agent side: decode one frame from a hub. */
export function decodeHubMessage(frame: string | Buffer): Decoded<HubMessage> {
  return decode(frame, HUB);
}

/** Encodes after validating with the same rules, so neither side can send what it would refuse. */
export function encodeAgentMessage(m: AgentMessage): string {
  return encodeChecked(m, decodeAgentMessage);
}

export function encodeHubMessage(m: HubMessage): string {
  // A hub MUST pin what it offers (PROTOCOL.md §5 offer). Decoding stays lenient about it so an
  // agent answers an older hub's unpinned offer with a coded ack (E_OFFER_UNPINNED).
  if (m.type === 'offer' && !m.bundle?.manifestSha256) throw new ProtocolViolation('E_OFFER_UNPINNED', 'refusing to send an offer without bundle.manifestSha256');
  return encodeChecked(m, decodeHubMessage);
}

function encodeChecked<T>(m: T, check: (f: string) => Decoded<unknown>): string {
  const s = JSON.stringify(m);
  const d = check(s);
  if (!d.ok) throw new ProtocolViolation(d.code, `refusing to send invalid ${(m as { type?: string }).type}: ${d.reason}`);
  return s;
}

export function isReport(m: AgentMessage): m is Report {
  return m.type !== 'hello' && m.type !== 'auth' && m.type !== 'ack' && m.type !== 'error';
}
