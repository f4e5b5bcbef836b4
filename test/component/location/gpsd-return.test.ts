// Out of the site radius and back through a real gpsd: exactly one "moved", then one "returned".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startGpsfake } from './gpsfake.ts';
import { locationUnderTest } from './setup.ts';

test('out and back: one "moved" then one "returned"', { timeout: 240_000 }, async () => {
  const LOG = 'walk-out-and-back.nmea';
  const port = await freePort();
  const fake = await startGpsfake(LOG, port);
  const loc = await locationUnderTest(port, { log: LOG });
  try {
    const events = await loc.replayed();
    const movement = events.filter((e) => e.type !== 'location.report').map((e) => e.type);
    assert.deepEqual(movement, ['location.moved', 'location.returned']);
    assert.equal(loc.service.current().zone, 'inside');
  } finally {
    await fake.stop();
    await loc.close();
  }
});
