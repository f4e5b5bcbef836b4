// Generates the NMEA 0183 logs under test/fixtures/nmea/ that gpsfake replays through a real
// gpsd in the location tests. Valid GGA/GSA/RMC/GSV sentences with correct checksums, one
// epoch per second, deterministic noise (seeded PRNG) so the files are reproducible.
//
//   node scripts/make-nmea.ts [outDir]     (default: test/fixtures/nmea)
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seededRandom } from '../test/support/seeded-random.ts';

/** The surveyed site every scenario is built around. */
export const SITE = { latitude: 52.52, longitude: 13.405, altitude: 34, radiusM: 100 } as const;
export const START = Date.UTC(2026, 5, 1, 10, 0, 0);

export interface Epoch {
  /** Offset from the site in metres. */
  north: number;
  east: number;
  hdop?: number;
}

export function checksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

const sentence = (body: string) => `$${body}*${checksum(body)}`;

function angle(value: number, degDigits: number, pos: string, neg: string): [string, string] {
  const a = Math.abs(value);
  const deg = Math.floor(a);
  const min = (a - deg) * 60;
  return [`${String(deg).padStart(degDigits, '0')}${min.toFixed(5).padStart(8, '0')}`, value >= 0 ? pos : neg];
}

function hhmmss(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.00`;
}

function ddmmyy(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}${p(d.getUTCMonth() + 1)}${p(d.getUTCFullYear() % 100)}`;
}

const SATS = [
  [3, 62, 45, 44], [6, 41, 120, 41], [9, 25, 300, 38], [12, 70, 210, 45], [17, 33, 80, 40],
  [19, 15, 160, 33], [22, 50, 260, 42], [25, 12, 20, 30], [28, 8, 340, 25], [31, 22, 190, 36],
] as const;
const USED = SATS.slice(0, 8).map((s) => s[0]);

export function offsetToLatLon(north: number, east: number): { lat: number; lon: number } {
  const lat = SITE.latitude + north / 111_320;
  const lon = SITE.longitude + east / (111_320 * Math.cos((SITE.latitude * Math.PI) / 180));
  return { lat, lon };
}

export function epochSentences(e: Epoch, t: number, withSky: boolean): string[] {
  const { lat, lon } = offsetToLatLon(e.north, e.east);
  const [la, ns] = angle(lat, 2, 'N', 'S');
  const [lo, ew] = angle(lon, 3, 'E', 'W');
  const hdop = (e.hdop ?? 0.9).toFixed(1);
  const out = [
    sentence(`GPGGA,${hhmmss(t)},${la},${ns},${lo},${ew},1,${String(USED.length).padStart(2, '0')},${hdop},${SITE.altitude.toFixed(1)},M,39.6,M,,`),
    sentence(`GPGSA,A,3,${[...USED, '', '', '', ''].slice(0, 12).map((p) => (p === '' ? '' : String(p).padStart(2, '0'))).join(',')},1.6,${hdop},1.3`),
    sentence(`GPRMC,${hhmmss(t)},A,${la},${ns},${lo},${ew},0.0,0.0,${ddmmyy(t)},,,A`),
  ];
  if (withSky) {
    const pages = Math.ceil(SATS.length / 4);
    for (let i = 0; i < pages; i++) {
      const sats = SATS.slice(i * 4, i * 4 + 4).map(([prn, el, az, snr]) => `${String(prn).padStart(2, '0')},${el},${String(az).padStart(3, '0')},${snr}`);
      out.push(sentence(`GPGSV,${pages},${i + 1},${SATS.length},${sats.join(',')}`));
    }
  }
  return out;
}


function stay(n: number, north: number, east: number, rnd: () => number, noiseM = 3): Epoch[] {
  return Array.from({ length: n }, () => ({ north: north + (rnd() * 2 - 1) * noiseM, east: east + (rnd() * 2 - 1) * noiseM }));
}

function walk(n: number, from: [number, number], to: [number, number]): Epoch[] {
  return Array.from({ length: n }, (_, i) => {
    const f = (i + 1) / n;
    return { north: from[0] + (to[0] - from[0]) * f, east: from[1] + (to[1] - from[1]) * f };
  });
}

export const FAR: [number, number] = [40, 300]; // ~303 m from the site centre

export function scenarios(): Record<string, Epoch[]> {
  const r = seededRandom(6);
  return {
    // At the site, with GNSS noise and one wild outlier fix 250 m away that must not count.
    'inside.nmea': [...stay(6, 0, 0, r), { north: 0, east: 250 }, ...stay(8, 0, 0, r)],
    // Carried out of the site radius and left there (theft, mis-deployment): one "moved".
    'walk-out.nmea': [...stay(4, 0, 0, r), ...walk(10, [0, 0], FAR), ...stay(16, ...FAR, r)],
    // Already away from the site (a node restarted after it was carried off).
    'away.nmea': stay(15, ...FAR, r),
    // Out, then back home: one "moved", then one "returned".
    'walk-out-and-back.nmea': [
      ...stay(4, 0, 0, r), ...walk(8, [0, 0], FAR), ...stay(10, ...FAR, r), ...walk(8, FAR, [0, 0]), ...stay(14, 0, 0, r),
    ],
  };
}

export function render(epochs: Epoch[]): string {
  const lines: string[] = [];
  epochs.forEach((e, i) => lines.push(...epochSentences(e, START + i * 1000, i % 5 === 0)));
  return lines.join('\r\n') + '\r\n';
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? join(import.meta.dirname, '../test/fixtures/nmea'));
  mkdirSync(out, { recursive: true });
  for (const [name, epochs] of Object.entries(scenarios())) {
    writeFileSync(join(out, name), render(epochs));
    process.stdout.write(`${join(out, name)}: ${epochs.length} epochs\n`);
  }
}
