import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../../agent/location/line-splitter.ts';
import { parseGpsdLine } from '../../../agent/location/gpsd-messages.ts';
import { reportReason } from '../../../agent/location/report-limiter.ts';

test('line splitter reassembles chunks and drops over-long lines whole', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('ab'), []);
  assert.deepEqual(s.push('c\r\nde'), ['abc']);
  assert.deepEqual(s.push('f\n'), ['def']);
  assert.deepEqual(s.push('0123456789ABCDEF'), []); // over the cap, no newline yet
  assert.deepEqual(s.push('more junk\nok\n'), ['ok']);
  assert.equal(s.dropped, 1);
  assert.deepEqual(s.push('x'.repeat(11) + '\nfine\n'), ['fine']);
  assert.equal(s.dropped, 2);
});

test('TPV and SKY parsing (gpsd 3.22 shapes, older SKY without counts, junk)', () => {
  assert.deepEqual(
    parseGpsdLine('{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2026-06-01T10:00:01.000Z","lat":52.52,"lon":13.405,"altMSL":34.0,"alt":34,"epx":9.9,"epy":10.3,"eph":17.1}'),
    { class: 'TPV', mode: 3, timeMs: Date.UTC(2026, 5, 1, 10, 0, 1), latitude: 52.52, longitude: 13.405, altitudeM: 34, accuracyM: 17.1 },
  );
  assert.deepEqual(parseGpsdLine('{"class":"TPV","mode":2,"lat":1,"lon":2,"epx":4,"epy":7}'), {
    class: 'TPV', mode: 2, timeMs: null, latitude: 1, longitude: 2, altitudeM: null, accuracyM: 7,
  });
  assert.equal(parseGpsdLine('{"class":"TPV","mode":1}')?.class, 'TPV');
  assert.equal((parseGpsdLine('{"class":"TPV","mode":3,"lat":95,"lon":2}') as { latitude: unknown }).latitude, null);
  assert.deepEqual(parseGpsdLine('{"class":"SKY","nSat":10,"uSat":8}'), { class: 'SKY', satellitesUsed: 8, satellitesVisible: 10 });
  assert.deepEqual(parseGpsdLine('{"class":"SKY","satellites":[{"used":true},{"used":false},{"used":true}]}'), { class: 'SKY', satellitesUsed: 2, satellitesVisible: 3 });
  for (const junk of ['', 'not json', '[1,2]', 'null', '{"class":"VERSION","release":"3.22"}']) assert.equal(parseGpsdLine(junk), null);
});

test('reports are rate-limited: only meaningful changes or the heartbeat', () => {
  const limits = { minDistanceM: 50, minAccuracyChangeM: 25, heartbeatMs: 3_600_000 };
  const base = { source: 'gnss', zone: 'inside', latitude: 52.52, longitude: 13.405, accuracyM: 17 };
  const prev = { loc: base, atMs: 0 };
  assert.equal(reportReason(null, base, 0, limits), 'first');
  assert.equal(reportReason(prev, { ...base, latitude: 52.52 + 10 / 111_320 }, 1000, limits), null, '10 m jitter');
  assert.equal(reportReason(prev, { ...base, accuracyM: 30 }, 1000, limits), null);
  assert.equal(reportReason(prev, { ...base, latitude: 52.52 + 60 / 111_320 }, 1000, limits), 'distance');
  assert.equal(reportReason(prev, { ...base, accuracyM: 45 }, 1000, limits), 'accuracy');
  assert.equal(reportReason(prev, { ...base, source: 'survey' }, 1000, limits), 'source');
  assert.equal(reportReason(prev, { ...base, zone: 'outside' }, 1000, limits), 'zone');
  assert.equal(reportReason(prev, base, 3_600_000, limits), 'heartbeat');
});
