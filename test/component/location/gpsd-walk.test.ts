// Walks out of the site radius through a real gpsd: exactly one "moved", and the zone survives
// a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startGpsfake } from './gpsfake.ts';
import { locationUnderTest } from './setup.ts';
import { MOVEMENT_FILE } from '../../../agent/location/movement-store.ts';

test('walking out of the radius gives exactly one "moved", and a restart outside none', { timeout: 240_000 }, async () => {
  const LOG = 'walk-out.nmea';
  const port = await freePort();
  const fake = await startGpsfake(LOG, port);
  const loc = await locationUnderTest(port, { log: LOG });
  try {
    const events = await loc.replayed(); // 16 more fixes far away after the walk
    await loc.service.flush();
    const moved = loc.of('location.moved', events);
    assert.equal(moved.length, 1);
    const ev = moved[0]!;
    assert.ok(ev.type === 'location.moved' && ev.distanceM > 125 && ev.siteId === 'ber-07', JSON.stringify(ev));
    assert.ok(ev.fixes >= 5);
    assert.deepEqual(loc.of('location.returned', events), []);
    const cur = loc.service.current();
    assert.equal(cur.zone, 'outside');
    assert.equal(cur.source, 'gnss', 'away from the site, the survey no longer says where the node is');
    assert.ok(cur.distanceM! > 250);
    // The change was reported as a location report too.
    assert.ok(loc.of('location.report', events).some((e) => e.type === 'location.report' && e.location.zone === 'outside'));
    const stored = JSON.parse(await readFile(join(loc.stateDir, MOVEMENT_FILE), 'utf8'));
    assert.equal(stored.zone, 'outside');
  } finally {
    await fake.stop();
    await loc.close(false);
  }

  // A restart far away: the stored zone says "outside", so there is nothing new to say.
  const port2 = await freePort();
  const fake2 = await startGpsfake('away.nmea', port2);
  const again = await locationUnderTest(port2, { stateDir: loc.stateDir, log: 'away.nmea' });
  try {
    const events = await again.replayed();
    assert.equal(again.service.current().zone, 'outside');
    assert.deepEqual(again.of('location.moved', events), [], 'restarted outside: nothing new to say');
    assert.deepEqual(again.of('location.returned', events), []);
  } finally {
    await fake2.stop();
    await again.close();
  }
});
