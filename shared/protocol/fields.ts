// Field readers for the bigger shapes: inventory maps, bandwidth windows, the surveyed site.
import { LIMITS } from './limits.ts';
import { arr, bad, num, obj, onlyKeys, str } from './check.ts';
import type { Inventory, Scalar, SiteIdentity, Window } from './messages.ts';

function scalar(v: unknown, path: string): Scalar {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return num(v, path, -Number.MAX_VALUE, Number.MAX_VALUE);
  if (typeof v === 'string') return str(v, path, LIMITS.inventoryValue, 0);
  return bad(path, 'expected a string, number, boolean or null');
}

export function inventory(v: unknown, path: string): Inventory {
  const o = obj(v, path);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.inventoryKeys) bad(path, `at most ${LIMITS.inventoryKeys} keys`);
  const out: Inventory = Object.create(null);
  for (const k of keys) {
    str(k, `${path} key`, LIMITS.inventoryKey);
    out[k] = scalar(o[k], `${path}.${k.slice(0, 32)}`);
  }
  return out;
}

// Shape only: shared/ cannot parse cron or check zones without the agent's window maths, so
// the agent validates the expression and zone itself and refuses the command with E_WINDOW_*.
export function windows(v: unknown, path: string, withRate = true): Window[] {
  return arr(v, path, LIMITS.windows).map((w, i) => {
    const p = `${path}[${i}]`;
    const o = obj(w, p);
    onlyKeys(o, ['cron', 'durationMinutes', 'timezone', ...(withRate ? ['maxBytesPerSecond'] : [])], p);
    const cron = str(o.cron, `${p}.cron`, LIMITS.shortText);
    if (!/^(@[a-z]+|\S+( \S+){4})$/.test(cron)) bad(`${p}.cron`, 'expected 5 cron fields separated by single spaces, or @daily-style');
    const d = o.durationMinutes;
    if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0 || d > LIMITS.windowMinutes) bad(`${p}.durationMinutes`, `expected minutes in (0, ${LIMITS.windowMinutes}]`);
    const out: Window = { cron, durationMinutes: d as number, timezone: str(o.timezone, `${p}.timezone`, LIMITS.shortText) };
    if (o.maxBytesPerSecond !== undefined && o.maxBytesPerSecond !== null) {
      const r = o.maxBytesPerSecond;
      if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) bad(`${p}.maxBytesPerSecond`, 'expected a positive number or null');
      out.maxBytesPerSecond = r as number;
    } else if (o.maxBytesPerSecond === null) out.maxBytesPerSecond = null;
    return out;
  });
}

export const inventoryHash = (v: unknown, path: string) => {
  const s = str(v, path, 71, 71);
  if (!/^sha256:[0-9a-f]{64}$/.test(s)) bad(path, 'expected sha256: and 64 lowercase hex digits');
  return s;
};

export const shortText = (v: unknown, p: string) => str(v, p, LIMITS.shortText);
export const text = (v: unknown, p: string) => str(v, p, LIMITS.text);

/** The node's surveyed site (its config's location section), sent with location reports. */
export function site(v: unknown, path: string): SiteIdentity {
  const o = obj(v, path);
  onlyKeys(o, ['id', 'name', 'address', 'lat', 'lon', 'altM', 'accuracyM', 'surveyedAt', 'rack', 'row', 'unit', 'radiusM'], path);
  const at = (k: string) => `${path}.${k}`;
  const out: SiteIdentity = {};
  if (o.id !== undefined) out.id = shortText(o.id, at('id'));
  if (o.name !== undefined) out.name = text(o.name, at('name'));
  if (o.address !== undefined) out.address = text(o.address, at('address'));
  if (o.lat !== undefined) out.lat = num(o.lat, at('lat'), -90, 90);
  if (o.lon !== undefined) out.lon = num(o.lon, at('lon'), -180, 180);
  if (o.altM !== undefined) out.altM = num(o.altM, at('altM'), -20_000, 100_000);
  if (o.accuracyM !== undefined) out.accuracyM = num(o.accuracyM, at('accuracyM'), 0, 1e7);
  if (o.surveyedAt !== undefined) out.surveyedAt = shortText(o.surveyedAt, at('surveyedAt'));
  if (o.rack !== undefined) out.rack = shortText(o.rack, at('rack'));
  if (o.row !== undefined) out.row = shortText(o.row, at('row'));
  if (o.unit !== undefined) out.unit = shortText(o.unit, at('unit'));
  if (o.radiusM !== undefined) out.radiusM = num(o.radiusM, at('radiusM'), 0, 1e7);
  return out;
}
