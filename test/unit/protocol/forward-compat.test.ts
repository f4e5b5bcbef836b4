// The codec's forward-compatibility rule (PROTOCOL.md §2), both directions, and the location
// report's optional site identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAgentMessage, decodeHubMessage, encodeAgentMessage } from '../../../shared/protocol/index.ts';
import { siteIdentity, toHubFix } from '../../../agent/location/pending-report.ts';

const AGENT = [
  { v: 1, type: 'auth', id: 'a-2', signature: Buffer.alloc(64, 1).toString('base64') },
  { v: 1, type: 'command.result', id: 'r-1', seq: 1, at: 1, ref: 'c-1', ok: true },
  { v: 1, type: 'error', id: 'a-3', code: 'E_X', message: '' },
];
const HUB = [
  { v: 1, type: 'report.ack', id: 'h-1', upTo: 3 },
  { v: 1, type: 'reboot', id: 'c-1' },
  { v: 1, type: 'backoff', id: 'h-2', retryAfterS: 10 },
];

test('ext on any message is accepted whatever it holds, and handed on untouched', () => {
  const ext = { future: { nested: [1, 'two'] }, flag: true };
  for (const [decode, msgs] of [[decodeAgentMessage, AGENT], [decodeHubMessage, HUB]] as const) {
    for (const m of msgs) {
      const d = decode(JSON.stringify({ ...m, ext }));
      assert.ok(d.ok, `${m.type}: ${d.ok ? '' : d.reason}`);
      assert.deepEqual(d.message.ext, ext);
      const bad = decode(JSON.stringify({ ...m, ext: [1] }));
      assert.equal(bad.ok ? 'ok' : bad.code, 'E_PROTOCOL_FIELD', `${m.type}: ext must be an object`);
      const unknown = decode(JSON.stringify({ ...m, future: 1 }));
      assert.equal(unknown.ok ? 'ok' : unknown.code, 'E_PROTOCOL_FIELD', `${m.type}: an unknown field outside ext is still an error`);
    }
  }
});

test('an unknown type is E_PROTO_UNKNOWN_TYPE with the id to answer, in both directions', () => {
  for (const decode of [decodeAgentMessage, decodeHubMessage]) {
    const d = decode(JSON.stringify({ v: 1, type: 'something.new', id: 'x-9', anything: { at: 'all' } }));
    assert.deepEqual(d.ok ? null : [d.code, d.ref], ['E_PROTO_UNKNOWN_TYPE', 'x-9']);
  }
});

test('location carries the provisioned site; limits are enforced and the agent cuts to them', () => {
  const base = { v: 1 as const, type: 'location' as const, id: 'r-2', seq: 2, at: 1, lat: 1, lon: 2, source: 'survey', fixAt: 1 };
  const site = { id: 'muc-03', name: 'Munich Ost', rack: 'R4', lat: 48.1, lon: 11.5, accuracyM: 3, radiusM: 100, surveyedAt: '2026-01-02' };
  const d = decodeAgentMessage(encodeAgentMessage({ ...base, site }));
  assert.ok(d.ok && d.message.type === 'location');
  assert.deepEqual(d.ok && d.message.type === 'location' && d.message.site, site);
  assert.equal(decodeAgentMessage(JSON.stringify({ ...base, site: { id: 'x'.repeat(65) } })).ok, false);
  assert.equal(decodeAgentMessage(JSON.stringify({ ...base, site: { colour: 'red' } })).ok, false);
  const survey = {
    id: 'y'.repeat(100), name: 'Site', address: null, latitude: 48.1, longitude: 11.5, altitudeM: null, accuracyM: 3,
    surveyedAt: null, rack: null, row: '', unit: 'U7', radiusM: 100,
  };
  const wire = siteIdentity(survey);
  assert.deepEqual(wire, { id: 'y'.repeat(64), name: 'Site', lat: 48.1, lon: 11.5, accuracyM: 3, unit: 'U7', radiusM: 100 });
  const fix = toHubFix({
    at: new Date(1_000_000).toISOString(), source: 'survey', latitude: 48.1, longitude: 11.5, altitudeM: null, accuracyM: 3, ageS: null,
    zone: 'inside', distanceM: null, site: survey, gnss: null,
  } as never);
  assert.deepEqual(fix?.site, wire);
  assert.ok(decodeAgentMessage(encodeAgentMessage({ ...base, ...fix! })).ok);
});
