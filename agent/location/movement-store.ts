// The movement zone survives restarts: a node that was carried away and reboots must not
// report "moved" again, nor forget that it is away. Tied to the site it was computed for.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import type { Zone } from './movement.ts';

export const MOVEMENT_FILE = 'location-zone.json';

export interface SiteKey {
  latitude: number;
  longitude: number;
  radiusM: number;
}

interface Record1 {
  v: 1;
  zone: Zone;
  site: SiteKey;
  since: string;
}

function validate(v: unknown): Record1 {
  const r = v as Partial<Record1> | null;
  if (!r || r.v !== 1 || (r.zone !== 'inside' && r.zone !== 'outside') || typeof r.site !== 'object' || r.site === null) throw new Error('not a v1 zone record');
  return r as Record1;
}

const sameSite = (a: SiteKey, b: SiteKey) => a.latitude === b.latitude && a.longitude === b.longitude && a.radiusM === b.radiusM;

export class MovementStore {
  readonly #path: string;
  readonly #readOnly: boolean;

  constructor(stateDir: string, opts: { readOnly?: boolean } = {}) {
    this.#path = join(stateDir, MOVEMENT_FILE);
    this.#readOnly = opts.readOnly ?? false;
  }

  /** The stored zone, or null when there is none or it belongs to a differently configured site. */
  async load(site: SiteKey): Promise<Zone | null> {
    const r = await readJsonOrSetAside(this.#path, validate);
    return r.kind === 'ok' && sameSite(r.value.site, site) ? r.value.zone : null;
  }

  async save(site: SiteKey, zone: Zone, since: number): Promise<void> {
    if (this.#readOnly) return;
    await writeJsonAtomic(this.#path, { v: 1, zone, site, since: new Date(since).toISOString() });
  }
}
