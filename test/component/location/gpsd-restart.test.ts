// gpsd goes away mid-run and comes back on the same port: the client reconnects by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startGpsfake } from './gpsfake.ts';
import { waitFor } from '../../support/wait-for.ts';
import { locationUnderTest } from './setup.ts';

test('the client reconnects after gpsd restarts', { timeout: 240_000 }, async () => {
  const port = await freePort();
  let fake = await startGpsfake('inside.nmea', port);
  const loc = await locationUnderTest(port);
  let fixes = 0;
  loc.gpsd.onMessage((m) => {
    if (m.class === 'TPV' && m.mode >= 2) fixes++;
  });
  try {
    await waitFor('first fixes', () => fixes >= 3, undefined, { detail: () => fake.stderr() });
    assert.equal(loc.gpsd.status.connects, 1);

    await fake.stop();
    await waitFor('disconnect noticed', () => !loc.gpsd.status.connected);
    const before = fixes;

    fake = await startGpsfake('inside.nmea', port);
    await waitFor('reconnected', () => loc.gpsd.status.connected && loc.gpsd.status.connects >= 2);
    await waitFor('fixes after the restart', () => fixes >= before + 3, undefined, { detail: () => fake.stderr() });
    assert.equal(loc.service.current().source, 'survey');
    assert.equal(loc.service.current().gnss?.connected, true);
    assert.deepEqual(loc.of('location.moved'), []);
  } finally {
    await fake.stop();
    await loc.close();
  }
});
