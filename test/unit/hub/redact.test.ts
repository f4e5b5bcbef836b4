// Regression: a hub that offers a URL on an internal address must not read the answer back
// through update reports (before: status line, byte counts and the address came back in the
// outcome's message and log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportOf } from '../../../agent/hub/reporter.ts';
import { hubLog, hubMessage } from '../../../agent/hub/redact.ts';
import { encodeAgentMessage } from '../../../shared/protocol/index.ts';

const INTERNAL = /10\.0\.0\.7|8080|403|Forbidden|1234|admin|<html>/;

const log = [
  { t: '2026-12-06T10:00:00.000Z', level: 'info', msg: 'deployment started', deploymentId: 'd-1', url: 'http://10.0.0.7:8080/admin' },
  { t: '2026-12-06T10:00:01.000Z', level: 'warn', msg: 'range request failed, retrying', status: 403, statusText: 'Forbidden', bytes: 1234, remote: '10.0.0.7:8080' },
  { t: '2026-12-06T10:00:02.000Z', level: 'error', msg: 'deployment failed', err: { code: 'E_FETCH_HTTP', message: 'HTTP 403 Forbidden from 10.0.0.7:8080 after 1234 bytes: <html>admin' } },
].map((l) => JSON.stringify(l)).join('\n');

test('an outcome for a URL-borne failure carries its code and a fixed text, and a log without field values', () => {
  const r = reportOf({ type: 'outcome', deploymentId: 'd-1', result: 'failure', code: 'E_FETCH_HTTP', message: 'HTTP 403 Forbidden from http://10.0.0.7:8080/admin (1234 bytes): <html>admin', log }, 1);
  assert.ok(r.type === 'update.outcome');
  assert.equal(r.code, 'E_FETCH_HTTP');
  assert.doesNotMatch(r.message!, INTERNAL);
  assert.doesNotMatch(r.log, INTERNAL);
  // The timeline stays: what happened, when, and the code.
  assert.deepEqual(r.log.split('\n').map((l) => JSON.parse(l).msg), ['deployment started', 'range request failed, retrying', 'deployment failed']);
  assert.equal(JSON.parse(r.log.split('\n')[2]!).code, 'E_FETCH_HTTP');
  encodeAgentMessage({ v: 1, id: 'r-1', seq: 1, ...r }); // still a valid report
});

test('state reports and bundle parse errors are redacted the same way; node-side failures keep their message', () => {
  const s = reportOf({ type: 'state', deploymentId: 'd-1', state: 'failed', code: 'E_BUNDLE_FORMAT', message: 'not a bundle: starts with "HTTP/1.1 200 OK\\r\\nServer: internal-router"' }, 1);
  assert.ok(s.type === 'update.state');
  assert.doesNotMatch(s.message!, /internal-router|HTTP\/1\.1/);
  assert.equal(hubMessage('E_OFFER_MISMATCH', 'manifest sha256 1234… is not the pinned one'), 'what the offered URL served was refused; details are in the node\'s log');
  assert.equal(hubMessage('E_HEALTH_CHECK', 'app-selftest exited 3'), 'app-selftest exited 3');
  assert.equal(hubMessage(undefined, 'no code'), 'no code');
});

test('logs of other outcomes go out whole; a plain-text log (another update service) is kept as it is', () => {
  const r = reportOf({ type: 'outcome', deploymentId: 'd-1', result: 'rolled-back', code: 'E_HEALTH_CHECK', message: 'app-selftest exited 3', log }, 1);
  assert.ok(r.type === 'update.outcome');
  assert.equal(r.log, log);
  assert.equal(hubLog('installed 2.0\nrebooting', 'E_FETCH_HTTP'), 'installed 2.0\nrebooting');
});
