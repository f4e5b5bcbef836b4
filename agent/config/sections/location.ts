import { defineSection, field } from '../schema.ts';

function nullableNumber(doc: string, min: number, max: number) {
  return field.custom<number | null>('number | null', doc, null, (v) => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`expected a number or null, got ${JSON.stringify(v)}`);
    if (v < min || v > max) throw new Error(`must be between ${min} and ${max}, got ${v}`);
    return v;
  });
}

const positive = (doc: string, def: number, max: number) => field.number(doc, def, { min: 0, max });

export const location = defineSection('location', 'Where the node is: surveyed site data and GNSS via gpsd (see docs/inventory-location.md).', {
  siteId: field.optionalString('Surveyed site identifier.'),
  siteName: field.optionalString('Human-readable site name.'),
  address: field.optionalString('Postal address of the site.'),
  latitude: nullableNumber('Surveyed latitude (WGS84 degrees). With longitude, enables moved/returned detection.', -90, 90),
  longitude: nullableNumber('Surveyed longitude (WGS84 degrees).', -180, 180),
  altitudeM: nullableNumber('Surveyed altitude above mean sea level, metres.', -1000, 10000),
  accuracyM: positive('Accuracy of the surveyed position, metres (compared with the GNSS error to pick the best source).', 10, 100_000),
  surveyedAt: field.custom<string | null>('string | null', 'When the site was surveyed (ISO 8601); gives the survey an age.', null, (v) => {
    if (v === null) return null;
    if (typeof v !== 'string' || !Number.isFinite(Date.parse(v))) throw new Error(`expected an ISO 8601 date or null, got ${JSON.stringify(v)}`);
    return v;
  }),
  rack: field.optionalString('Rack within the site.'),
  row: field.optionalString('Row within the site.'),
  unit: field.optionalString('Rack unit (U) of the node.'),
  radiusM: field.number('Site radius in metres: good fixes beyond it (plus hysteresis) for a sustained period mean "moved".', 100, { min: 1, max: 1_000_000 }),
  gpsd: field.boolean('Read GNSS fixes from gpsd.', true),
  gpsdHost: field.string('gpsd host.', '127.0.0.1'),
  gpsdPort: field.number('gpsd TCP port.', 2947, { min: 1, max: 65535, integer: true }),
  maxFixAccuracyM: positive('A fix counts for movement only if its horizontal error (gpsd eph) is at most this.', 50, 100_000),
  hysteresisM: positive('Extra margin beyond the radius a fix must clear to count as outside.', 25, 100_000),
  movedFixes: field.number('Consecutive good fixes on the other side needed for "moved" or "returned".', 5, { min: 1, max: 10_000, integer: true }),
  movedSeconds: field.number('…and they must span at least this many seconds of receiver time.', 60, { min: 0, max: 86_400 }),
  fixMaxAgeS: field.number('A GNSS fix older than this is stale (not the best source any more).', 30, { min: 1, max: 86_400 }),
  reportMinDistanceM: positive('Report the location again when it moved at least this far…', 50, 1_000_000),
  reportMinAccuracyChangeM: positive('…or its accuracy changed by at least this much…', 25, 1_000_000),
  heartbeatS: field.number('…or at least this often (seconds) even when nothing changed.', 3600, { min: 10, max: 7 * 86_400 }),
});
