// The committed NMEA logs are exactly what the generator makes, and every sentence is valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarios, render, checksum } from '../../../scripts/make-nmea.ts';

const DIR = join(import.meta.dirname, '../../fixtures/nmea');

test('fixtures are reproducible from scripts/make-nmea.ts', () => {
  for (const [name, epochs] of Object.entries(scenarios())) {
    assert.equal(readFileSync(join(DIR, name), 'utf8'), render(epochs), `${name}: run node scripts/make-nmea.ts`);
  }
});

test('every sentence has a correct checksum and the expected talker/type', () => {
  for (const name of Object.keys(scenarios())) {
    for (const line of readFileSync(join(DIR, name), 'utf8').trimEnd().split('\r\n')) {
      const m = /^\$(GP(GGA|GSA|RMC|GSV),[^*]*)\*([0-9A-F]{2})$/.exec(line);
      assert.ok(m, `${name}: ${line}`);
      assert.equal(checksum(m[1]!), m[3], line);
    }
  }
  // A known-good sentence (NMEA reference example) checks out too.
  assert.equal(checksum('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), '47');
});
