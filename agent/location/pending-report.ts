// Adapter for a pull-style reporter (the hub link asks "anything to report?" on a timer): keeps
// the latest rate-limited report not yet taken. A moved/returned event always leaves a report
// pending, so a pull never misses a zone change even between two timer ticks.
import type { LocationService } from './service.ts';
import type { LocationReport, SiteSurvey } from './types.ts';
import type { LocationFix, SiteIdentity } from '../../shared/protocol/messages.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';


export function toHubFix(r: LocationReport): LocationFix | null {
  if (r.latitude === null || r.longitude === null) return null;
  const at = Date.parse(r.at);
  return {
    lat: r.latitude,
    lon: r.longitude,
    ...(r.altitudeM !== null ? { altM: r.altitudeM } : {}),
    ...(r.accuracyM !== null ? { accuracyM: r.accuracyM } : {}),
    source: r.source,
    fixAt: r.ageS !== null ? at - r.ageS * 1000 : at,
    moved: r.zone === 'outside',
    ...(r.site ? { site: siteIdentity(r.site) } : {}),
  };
}

/** The surveyed site in wire form: unset fields left out, text cut to the protocol's limits. */
export function siteIdentity(s: SiteSurvey): SiteIdentity {
  const out: SiteIdentity = {};
  const short = (v: string | null) => (v === null || v === '' ? undefined : v.slice(0, LIMITS.shortText));
  const long = (v: string | null) => (v === null || v === '' ? undefined : v.slice(0, LIMITS.text));
  const set = <K extends keyof SiteIdentity>(k: K, v: SiteIdentity[K] | null | undefined) => {
    if (v !== undefined && v !== null) out[k] = v;
  };
  set('id', short(s.id));
  set('name', long(s.name));
  set('address', long(s.address));
  set('lat', s.latitude);
  set('lon', s.longitude);
  set('altM', s.altitudeM);
  set('accuracyM', s.accuracyM);
  set('surveyedAt', short(s.surveyedAt));
  set('rack', short(s.rack));
  set('row', short(s.row));
  set('unit', short(s.unit));
  set('radiusM', s.radiusM);
  return out;
}

export class PendingLocationReport {
  #pending: LocationReport | null = null;
  readonly #service: LocationService;

  constructor(service: LocationService) {
    this.#service = service;
    service.onEvent((e) => {
      if (e.type === 'location.report') this.#pending = e.location;
      else this.#pending = service.current();
    });
  }

  /** The report to send now, or null when nothing changed meaningfully since the last take. */
  take(): LocationReport | null {
    const r = this.#pending;
    this.#pending = null;
    return r;
  }
}
