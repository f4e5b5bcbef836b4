import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MovementDetector, type MovementFix } from '../../../agent/location/movement.ts';
import { distanceM } from '../../../agent/location/geo.ts';

const SITE = { latitude: 52.52, longitude: 13.405 };
const OPTS = { radiusM: 100, hysteresisM: 25, maxAccuracyM: 50, fixes: 5, seconds: 10 };
const M_PER_DEG_LAT = 111_320;

/** A fix `north` metres from the site at second `s`. */
function at(s: number, north: number, accuracyM: number | null = 10, mode = 3): MovementFix {
  return { latitude: SITE.latitude + north / M_PER_DEG_LAT, longitude: SITE.longitude, accuracyM, mode, timeMs: Date.UTC(2027, 0, 1) + s * 1000 };
}

function feedAll(d: MovementDetector, fixes: MovementFix[]) {
  return fixes.map((f) => d.feed(f)).filter((e) => e !== null);
}

test('distances are right to well under a metre at site scale', () => {
  const d = distanceM(SITE, { latitude: SITE.latitude + 1000 / M_PER_DEG_LAT, longitude: SITE.longitude });
  assert.ok(Math.abs(d - 1000) < 2, `${d}`);
});

test('classification: inside, band, outside, ignored', () => {
  const d = new MovementDetector(SITE, OPTS);
  assert.equal(d.classify(at(0, 80, 10)).kind, 'inside'); // 80 + 10 ≤ 100
  assert.equal(d.classify(at(0, 95, 10)).kind, 'band'); // circle crosses the radius
  assert.equal(d.classify(at(0, 130, 10)).kind, 'band'); // beyond the radius, inside the margin
  assert.equal(d.classify(at(0, 140, 10)).kind, 'outside'); // 140 − 10 > 125
  assert.equal(d.classify(at(0, 500, 60)).kind, 'ignored'); // too inaccurate
  assert.equal(d.classify(at(0, 500, null)).kind, 'ignored'); // unknown accuracy
  assert.equal(d.classify(at(0, 500, 10, 1)).kind, 'ignored'); // no fix
});

test('sustained outside fixes give exactly one "moved"; staying out gives nothing more', () => {
  const d = new MovementDetector(SITE, OPTS);
  const fixes = [...Array.from({ length: 5 }, (_, i) => at(i, 0)), ...Array.from({ length: 40 }, (_, i) => at(5 + i, 300))];
  const events = feedAll(d, fixes);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'moved');
  // Needs 5 fixes AND 10 s: the streak starts at s=5, so it completes at s=15 (11 fixes).
  assert.equal(events[0]!.fix.timeMs, at(15, 0).timeMs);
  assert.equal(events[0]!.fixes, 11);
  assert.equal(d.zone, 'outside');
});

test('both the fix count and the duration are required', () => {
  const fast = new MovementDetector(SITE, { ...OPTS, fixes: 5, seconds: 60 });
  assert.equal(feedAll(fast, Array.from({ length: 30 }, (_, i) => at(i, 300))).length, 0, '30 fixes in 30 s < 60 s');
  const sparse = new MovementDetector(SITE, { ...OPTS, fixes: 5, seconds: 10 });
  assert.equal(feedAll(sparse, [at(0, 300), at(30, 300), at(60, 300), at(90, 300)]).length, 0, '4 fixes < 5');
  assert.equal(sparse.feed(at(120, 300))?.type, 'moved');
});

test('GNSS noise at the edge, single outliers and bad fixes never flap', () => {
  const d = new MovementDetector(SITE, OPTS);
  const fixes: MovementFix[] = [];
  for (let s = 0; s < 600; s++) {
    // Around the radius: wanders 60..160 m with 10 m accuracy; every 4th fix is back in the band.
    const north = s % 4 === 3 ? 110 : 60 + ((s * 37) % 100);
    fixes.push(at(s, north));
    if (s % 50 === 0) fixes.push({ ...at(s, 5000, 10), timeMs: at(s, 0).timeMs + 500 }); // wild outlier
    if (s % 7 === 0) fixes.push({ ...at(s, 900, 200), timeMs: at(s, 0).timeMs + 700 }); // poor accuracy
  }
  const outside = fixes.filter((f) => d.classify(f).kind === 'outside').length;
  assert.ok(outside > 100, `the noise does reach outside (${outside} fixes)`);
  assert.deepEqual(feedAll(d, fixes), []);
  assert.equal(d.zone, 'inside');
});

test('out and back: one "moved", then one "returned"', () => {
  const d = new MovementDetector(SITE, OPTS);
  const path = [
    ...Array.from({ length: 5 }, () => 0),
    ...Array.from({ length: 20 }, () => 400),
    ...Array.from({ length: 20 }, () => 10),
  ];
  const events = feedAll(d, path.map((north, s) => at(s, north)));
  assert.deepEqual(events.map((e) => e.type), ['moved', 'returned']);
  assert.equal(d.zone, 'inside');
});

test('repeated or backwards receiver time never counts twice', () => {
  const d = new MovementDetector(SITE, { ...OPTS, fixes: 3, seconds: 0 });
  assert.equal(d.feed(at(10, 300)), null);
  assert.equal(d.feed(at(10, 300)), null, 'same epoch again');
  assert.equal(d.feed(at(11, 300)), null);
  assert.equal(d.feed(at(5, 300)), null, 'time went back: the streak restarts here');
  assert.equal(d.feed(at(6, 300)), null);
  assert.equal(d.feed(at(7, 300))?.type, 'moved');
});

test('a node whose stored zone is outside reports "returned", not "moved"', () => {
  const d = new MovementDetector(SITE, { ...OPTS, fixes: 2, seconds: 1 }, 'outside');
  assert.deepEqual(feedAll(d, [at(0, 300), at(1, 300), at(2, 0), at(3, 0), at(4, 0)]).map((e) => e.type), ['returned']);
});
