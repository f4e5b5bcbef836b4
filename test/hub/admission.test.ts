// Admission control: a burst of handshakes beyond the admitted rate is told to come back later
// (a backoff hint sized from the nodes still missing), and the agents spread their return over
// the hint, so the fleet reconnects at about the admitted rate instead of all at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionControl, defaultAdmissionRate, type AdmissionSecond } from '../../hub/link/admission.ts';
import { startTestHub } from '../support/hub-in-process.ts';
import { waitFor } from '../support/dev-hub.ts';
import { startAgent, type TestAgent } from './agents.ts';

test('admission: a token bucket with a quarter-second burst; the hint spreads the missing nodes at 80 % of the rate', () => {
  let now = 0;
  const a = new AdmissionControl({ ratePerS: 100, missing: () => 4000, now: () => now });
  const cold = Array.from({ length: 10 }, () => a.request());
  assert.equal(cold.filter((x) => x.admit).length, 1, 'a (re)started hub has one token saved up: its first second admits the rate (+1), not rate + burst');
  for (const x of cold) if (x.admit) x.done();
  now += 1000;
  const first = Array.from({ length: 100 }, () => a.request());
  assert.equal(first.filter((x) => x.admit).length, 25, 'burst = a quarter of the rate');
  const refused = first.find((x) => !x.admit) as { retryAfterS: number };
  assert.equal(refused.retryAfterS, 50, '4000 missing / (0.8 x 100 per s)');
  now += 1000;
  const second = Array.from({ length: 200 }, () => a.request());
  assert.equal(second.filter((x) => x.admit).length, 25, 'never more than the burst at once');
  // Their handshakes finish (a hub keeping up: no congestion).
  for (const x of [...first, ...second]) if (x.admit) x.done();
  let admitted = 0;
  for (let ms = 0; ms < 10_000; ms += 10) {
    now += 10;
    for (let i = 0; i < 5; i++) {
      const x = a.request();
      if (x.admit) {
        admitted++;
        x.done();
      }
    }
  }
  assert.ok(admitted >= 990 && admitted <= 1010, `about 100/s over 10 s (${admitted})`);
});

test('admission: the floor is the fleet\'s, shared by the hub processes like the rate', () => {
  // One process: 4 % of the fleet per second, at least 20/s.
  assert.equal(defaultAdmissionRate(200), 20);
  assert.equal(defaultAdmissionRate(1000), 40);
  assert.equal(defaultAdmissionRate(10_000), 400);
  // Two processes take half each, the floor included: a small fleet is admitted at 20/s in all, not 2 x 20.
  assert.equal(defaultAdmissionRate(200, 2), 10);
  assert.equal(defaultAdmissionRate(1000, 2), 20);
  assert.equal(defaultAdmissionRate(10_000, 2), 200);
  assert.equal(defaultAdmissionRate(300, 3), 20 / 3);
  assert.equal(defaultAdmissionRate(200, 0), 20, 'no process counted yet: this one alone');

  // Two processes on one fleet of 300 (floor-bound), each at its share, a storm on both: the
  // fleet as a whole is admitted at the floor (20/s), not at 2 x 20.
  let now = 0;
  const hubs = [0, 1].map(() => new AdmissionControl({ ratePerS: defaultAdmissionRate(300, 2), missing: () => 150, now: () => now }));
  const perSecond = new Map<number, number>();
  for (let ms = 0; ms < 20_000; ms += 10) {
    now += 10;
    for (const h of hubs) {
      for (let i = 0; i < 3; i++) {
        const x = h.request();
        if (x.admit) {
          x.done(true);
          perSecond.set(Math.floor(now / 1000), (perSecond.get(Math.floor(now / 1000)) ?? 0) + 1);
        }
      }
    }
  }
  const total = hubs.reduce((a, h) => a + h.admitted, 0);
  assert.ok(total >= 390 && total <= 410, `about 20/s over 20 s in all (${total})`);
  // Each process's burst is a quarter of its share: in all at most 1.25 x the fleet's floor in any second.
  const peak = Math.max(...perSecond.values());
  assert.ok(peak <= 25, `peak ${peak}/s within the fleet's rate + burst (with a floor per process: 2 x 25)`);
  assert.equal(hubs[0]!.authenticated + hubs[1]!.authenticated, total);
});

test('admission: per-second counts of admitted, refused and authenticated handshakes', () => {
  let now = 10_000;
  const seconds: AdmissionSecond[] = [];
  const a = new AdmissionControl({ ratePerS: 4, missing: () => 100, now: () => now });
  a.onSecond = (s) => seconds.push(s);
  const first = [a.request(), a.request()]; // one token at start: one in, one refused
  now += 1000;
  const second = [a.request(), a.request(), a.request()]; // a burst of one (a quarter of 4)
  for (const x of [...first, ...second]) if (x.admit) x.done(true);
  now += 1500;
  a.flush();
  assert.deepEqual(seconds, [
    { at: 10_000, admitted: 1, refused: 1, authenticated: 0 },
    { at: 11_000, admitted: 1, refused: 2, authenticated: 2 },
  ]);
  // A handshake that ends without authenticating frees its slot and is not counted as authenticated.
  now += 5000;
  const x = a.request();
  assert.ok(x.admit);
  if (x.admit) x.done(false);
  assert.equal(a.inFlight, 0);
  now += 1000;
  a.flush();
  assert.deepEqual(seconds.at(-1), { at: 17_000, admitted: 1, refused: 0, authenticated: 0 });
  assert.equal(a.authenticated, 2);
});

test('admission: acceptances finished in one bunch are let out at the admitted rate', () => {
  let now = 0;
  const a = new AdmissionControl({ ratePerS: 4, missing: () => 100, now: () => now });
  // Eight handshakes admitted over two seconds that a busy hub finishes at the same instant.
  const waits = Array.from({ length: 8 }, () => a.paceMs());
  assert.deepEqual(waits, [0, 250, 500, 750, 1000, 1250, 1500, 1750], 'one at once, then 4 per second');
  // Quiet for a while: at most the burst (a quarter of the rate, here 1) goes out at once again.
  now += 10_000;
  assert.deepEqual([a.paceMs(), a.paceMs()], [0, 250]);
  // A lower rate (the fleet shrank, another process joined) paces at that rate from now on.
  now += 10_000;
  a.setRate(2);
  assert.deepEqual([a.paceMs(), a.paceMs(), a.paceMs()], [0, 500, 1000]);
});

test('admission: tokens are not saved up while the hub is still starting', () => {
  let now = 0;
  const a = new AdmissionControl({ ratePerS: 100, missing: () => 4000, now: () => now });
  now += 5_000; // store opened, bundles registered, ... nobody could dial yet
  assert.equal(Array.from({ length: 50 }, () => a.request()).filter((x) => x.admit).length, 1, 'the first second after the first request admits the rate (+1), not the burst too');
});

test('admission: handshakes backing up (the hub short of CPU) stop further admissions until they finish', () => {
  let now = 0;
  const a = new AdmissionControl({ ratePerS: 100, missing: () => 1000, now: () => now, slowMs: 5_000, maxInFlight: 30 });
  const opening = a.request(); // the bucket starts with one token, at the first request
  if (opening.admit) opening.done(true);
  now += 1000;
  const first = Array.from({ length: 25 }, () => a.request());
  assert.ok(first.every((x) => x.admit));
  assert.equal(a.inFlight, 25);
  // 6 s later the oldest is still unfinished: the tokens are there, but nobody gets in.
  now += 6_000;
  const jammed = a.request();
  assert.equal(jammed.admit, false);
  assert.equal(a.congested, 1);
  // They finish: admissions resume.
  for (const x of first) if (x.admit) x.done();
  assert.equal(a.inFlight, 0);
  const again = a.request();
  assert.ok(again.admit, 'admitted again once the backlog cleared');
  if (again.admit) {
    again.done();
    again.done(); // idempotent
  }
  assert.equal(a.inFlight, 0);
  // The hard cap: at most maxInFlight unfinished, however young.
  now += 10_000;
  const many = Array.from({ length: 40 }, () => a.request());
  assert.equal(many.filter((x) => x.admit).length, 25, 'the burst first');
  now += 1_000;
  assert.equal(Array.from({ length: 40 }, () => a.request()).filter((x) => x.admit).length, 5, 'then only up to 30 in flight');
});

test('a burst of agents beyond the rate: the rest are told to back off and all come back, spread out', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-admission-'));
  await mkdir(join(dir, 'bundles'));
  const RATE = 8;
  const N = 40;
  const t = await startTestHub(dir, { acceptAll: true, admitRatePerS: RATE });
  const agents: TestAgent[] = [];
  try {
    // First dial of every agent at once, as after a hub restart.
    agents.push(...(await Promise.all(Array.from({ length: N }, (_, i) => startAgent({ url: t.hub.agentUrl, dir, deviceId: `adm-${i}`, timings: { backoffBaseMs: 100 } })))));
    await waitFor('every agent authenticated', () => agents.every((a) => a.authenticatedAt.length >= 1), 90_000, { everyMs: 100 });
    assert.ok(t.hub.admission.refused > 0, 'some were turned away');
    const hinted = agents.flatMap((a) => a.lines.filter((l) => l.msg === 'hub link down, redialling' && l.end === 'backoff').map((l) => Number(l.delayMs)));
    assert.ok(hinted.length > 0);
    // Spread uniformly over the hint: the redial delays are not bunched at its end.
    const distinctSeconds = new Set(hinted.map((d) => Math.floor(d / 1000))).size;
    assert.ok(distinctSeconds >= 3, `redials spread over ${distinctSeconds} distinct seconds: ${hinted.sort((x, y) => x - y).join(' ')}`);
    // Per second, the hub admitted at most its burst plus its rate (1.25 x RATE), measured by the hub.
    assert.ok(t.hub.admission.admitted >= N);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await t.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
});
