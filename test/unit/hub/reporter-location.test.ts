// The first location fix used to wait a whole hub.locationIntervalS when the source had none at
// the first tick (a surveyed site is read a moment after start): the demo had to set 2 s. Now the
// source is asked again after 1, 2, 4 … s until a fix is journaled (later fixes keep the interval).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reporter } from '../../../agent/hub/reporter.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { ReportBody } from '../../../shared/protocol/messages.ts';
import type { LocationFix } from '../../../agent/hub/ports.ts';
import { waitFor } from '../../support/dev-hub.ts';

const FIX: LocationFix = { lat: 52.5, lon: 13.4, source: 'surveyed', fixAt: 1_795_000_000_000 };

test('the first location is journaled once the source has it, not a whole interval later', { timeout: 20_000 }, async () => {
  const sent: ReportBody[] = [];
  let asked = 0;
  let available = false;
  const reporter = new Reporter({
    append: async (b) => void sent.push(b),
    source: { inventory: async () => null, location: async () => (asked++, available ? FIX : null) },
    inventory: null, update: null, log: silentLogger(), inventoryIntervalS: 0,
    locationIntervalS: 3600, // an hour: the test would time out if the first fix waited for it
  });
  const ac = new AbortController();
  try {
    reporter.start(ac.signal);
    await waitFor('asked at start', () => asked >= 1);
    assert.equal(sent.length, 0, 'nothing to report yet');
    available = true;
    await waitFor('first fix journaled', () => sent.length === 1, 10_000);
    assert.deepEqual(sent[0], { type: 'location', at: sent[0]!.at, ...FIX });
  } finally {
    ac.abort();
  }
});
