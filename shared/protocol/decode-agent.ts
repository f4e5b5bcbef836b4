// Readers for what an agent sends a hub (hello, auth, reports, acks, errors).
import { LIMITS } from './limits.ts';
import { arr, bad, base64, bool, int, num, obj, oneOf, onlyKeys, optStr, str, token, type Obj } from './check.ts';
import { OUTCOME_RESULTS } from './messages.ts';
import type { AgentMessage, CommandAck, TransferInfo } from './messages.ts';
import { ENVELOPE, REPORT, code, env, errorOf, optional } from './frame.ts';
import { inventory, inventoryHash, site } from './fields.ts';

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

export const AGENT: Record<string, (o: Obj) => AgentMessage> = {
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
