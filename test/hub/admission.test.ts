// Admission control: a burst of handshakes beyond the admitted rate is told to come back later
// (a backoff hint sized from the nodes still missing), and the agents spread their return over
// the hint, so the fleet reconnects at about the admitted rate instead of all at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionControl } from '../../hub/link/admission.ts';
import { startTestHub } from '../support/hub-in-process.ts';
import { waitFor } from '../support/dev-hub.ts';
import { startAgent, type TestAgent } from './agents.ts';

test('admission: a token bucket with a quarter-second burst; the hint spreads the missing nodes at 80 % of the rate', () => {
  let now = 0;
  const a = new AdmissionControl({ ratePerS: 100, missing: () => 4000, now: () => now });
  const first = Array.from({ length: 100 }, () => a.request());
  assert.equal(first.filter((x) => x.admit).length, 25, 'burst = a quarter of the rate');
  const refused = first.find((x) => !x.admit) as { retryAfterS: number };
  assert.equal(refused.retryAfterS, 50, '4000 missing / (0.8 x 100 per s)');
  now += 1000;
  assert.equal(Array.from({ length: 200 }, () => a.request()).filter((x) => x.admit).length, 25, 'never more than the burst at once');
  let admitted = 0;
  for (let ms = 0; ms < 10_000; ms += 10) {
    now += 10;
    for (let i = 0; i < 5; i++) if (a.request().admit) admitted++;
  }
  assert.ok(admitted >= 990 && admitted <= 1010, `about 100/s over 10 s (${admitted})`);
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
    await waitFor('every agent authenticated', () => agents.every((a) => a.authenticatedAt.length >= 1), 90_000, 100);
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
