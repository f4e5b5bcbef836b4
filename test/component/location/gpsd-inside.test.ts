// A fix inside the site through a real gpsd: best source, accuracy, satellites; an outlier fix
// 250 m away must not count as movement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startGpsfake } from './gpsfake.ts';
import { waitFor } from '../../support/wait-for.ts';
import { locationUnderTest } from './setup.ts';

const LOG = 'inside.nmea';

test('fixes inside the site: no movement, best source by accuracy, satellite counts', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const fake = await startGpsfake(LOG, port);
  // Survey accuracy 50 m: the GNSS fix (gpsd eph 17.1 m for HDOP 0.9) is the better source.
  const loc = await locationUnderTest(port, { survey: { accuracyM: 50 }, log: LOG });
  try {
    await waitFor('a GNSS fix', () => loc.service.current().source === 'gnss' && loc.service.current().gnss?.satellitesUsed !== null, undefined, { detail: fake.stderr });
    const cur = loc.service.current();
    assert.equal(cur.zone, 'inside');
    assert.equal(cur.accuracyM, 17.1);
    assert.ok(cur.ageS !== null && cur.ageS <= 30);
    assert.ok(cur.distanceM !== null && cur.distanceM < 10, `distance ${cur.distanceM}`);
    assert.deepEqual({ used: cur.gnss?.satellitesUsed, visible: cur.gnss?.satellitesVisible, mode: cur.gnss?.mode }, { used: 8, visible: 10, mode: 3 });
    assert.match(cur.gnss!.lastFixAt!, /^2026-06-01T10:00:/);
    assert.equal(cur.site?.id, 'ber-07');

    const events = await loc.replayed();
    assert.deepEqual(loc.of('location.moved', events), []);
    assert.deepEqual(loc.of('location.returned', events), []);
    // 15 fixes, but reports only on meaningful change (first, and the outlier out and back).
    const reports = loc.of('location.report', events).length;
    assert.ok(reports >= 1 && reports <= 5, `reports: ${reports}`);
  } finally {
    await fake.stop();
    await loc.close();
  }
});

test('a well-surveyed site beats GNSS as the best source, and survives gpsd going away', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const fake = await startGpsfake(LOG, port);
  const loc = await locationUnderTest(port, { survey: { accuracyM: 2 } });
  try {
    await waitFor('a GNSS fix', () => loc.service.current().gnss?.lastFixAt != null, undefined, { detail: fake.stderr });
    const cur = loc.service.current();
    assert.equal(cur.source, 'survey');
    assert.equal(cur.accuracyM, 2);
    assert.equal(cur.latitude, 52.52);
    await fake.stop();
    await waitFor('gpsd gone', () => loc.service.current().gnss?.connected === false);
    assert.equal(loc.service.current().source, 'survey');
  } finally {
    await fake.stop();
    await loc.close();
  }
});
