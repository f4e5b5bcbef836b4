// Adapter for a pull-style reporter (the hub link asks "anything to report?" on a timer): keeps
// the latest rate-limited report not yet taken. A moved/returned event always leaves a report
// pending, so a pull never misses a zone change even between two timer ticks.
import type { LocationService } from './service.ts';
import type { LocationReport } from './types.ts';
import type { LocationFix } from '../../shared/protocol/messages.ts';


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
  };
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
