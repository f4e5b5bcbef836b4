// The parts of gpsd's JSON protocol we use (https://gpsd.io/gpsd_json.html): TPV (time,
// position, velocity) and SKY (satellites). Anything else, or anything malformed, is ignored.

export interface TpvFix {
  class: 'TPV';
  /** 0 unknown, 1 no fix, 2 2D, 3 3D. */
  mode: number;
  /** Receiver time of the fix (epoch ms), if gpsd had one. */
  timeMs: number | null;
  latitude: number | null;
  longitude: number | null;
  altitudeM: number | null;
  /** Horizontal error estimate in metres: eph, else the larger of epx/epy. */
  accuracyM: number | null;
}

export interface SkyReport {
  class: 'SKY';
  satellitesUsed: number | null;
  satellitesVisible: number | null;
}

export type GpsdMessage = TpvFix | SkyReport;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function parseGpsdLine(line: string): GpsdMessage | null {
  let m: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    m = v as Record<string, unknown>;
  } catch {
    return null;
  }
  if (m.class === 'TPV') {
    const lat = num(m.lat);
    const lon = num(m.lon);
    const valid = lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
    const epx = num(m.epx);
    const epy = num(m.epy);
    const time = typeof m.time === 'string' ? Date.parse(m.time) : NaN;
    return {
      class: 'TPV',
      mode: num(m.mode) ?? 0,
      timeMs: Number.isFinite(time) ? time : null,
      latitude: valid ? lat : null,
      longitude: valid ? lon : null,
      altitudeM: num(m.altMSL) ?? num(m.alt),
      accuracyM: num(m.eph) ?? (epx !== null && epy !== null ? Math.max(epx, epy) : null),
    };
  }
  if (m.class === 'SKY') {
    // gpsd ≥ 3.20 sends uSat/nSat; older ones only the satellite list with `used` flags.
    const sats = Array.isArray(m.satellites) ? (m.satellites as Array<{ used?: unknown }>) : null;
    return {
      class: 'SKY',
      satellitesUsed: num(m.uSat) ?? (sats ? sats.filter((s) => s?.used === true).length : null),
      satellitesVisible: num(m.nSat) ?? (sats ? sats.length : null),
    };
  }
  return null;
}
