// Readers for what a hub sends an agent (challenge, auth result, acks, offers, commands, pushes).
import { LIMITS } from './limits.ts';
import { ProtocolViolation, arr, bad, base64, int, obj, oneOf, onlyKeys, optNum, optStr, str, token, type Obj } from './check.ts';
import type { HubMessage, Offer, PushedConfig, PushedHealthCheck } from './messages.ts';
import { ENVELOPE, code, env, errorOf, optional } from './frame.ts';
import { inventoryHash, windows } from './fields.ts';

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

export const HUB: Record<string, (o: Obj) => HubMessage> = {
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
