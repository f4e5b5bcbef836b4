// Wiring for app.ts and the CLI: config → site survey, gpsd client, movement store, service.
import type { Config } from '../config/load.ts';
import { stateDir } from '../config/load.ts';
import type { Clock } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import { GpsdClient } from './gpsd-client.ts';
import { MovementStore } from './movement-store.ts';
import { LocationService } from './service.ts';
import type { SiteSurvey } from './types.ts';

export function siteFromConfig(config: Config): SiteSurvey | null {
  const l = config.location;
  const any = [l.siteId, l.siteName, l.address, l.latitude, l.longitude, l.rack, l.row, l.unit].some((v) => v !== null);
  if (!any) return null;
  return {
    id: l.siteId, name: l.siteName, address: l.address, latitude: l.latitude, longitude: l.longitude, altitudeM: l.altitudeM,
    accuracyM: l.accuracyM, surveyedAt: l.surveyedAt, rack: l.rack, row: l.row, unit: l.unit, radiusM: l.radiusM,
  };
}

/** readOnly: use the stored zone but never write it (the CLI looking while the daemon runs). */
export function createLocationService(config: Config, deps: { clock: Clock; logger: Logger; readOnly?: boolean }): LocationService {
  const l = config.location;
  const logger = deps.logger.child('location');
  return new LocationService({
    site: siteFromConfig(config),
    gpsd: l.gpsd ? new GpsdClient({ host: l.gpsdHost, port: l.gpsdPort, logger }) : null,
    movement: { hysteresisM: l.hysteresisM, maxAccuracyM: l.maxFixAccuracyM, fixes: l.movedFixes, seconds: l.movedSeconds },
    limits: { minDistanceM: l.reportMinDistanceM, minAccuracyChangeM: l.reportMinAccuracyChangeM, heartbeatMs: l.heartbeatS * 1000 },
    fixMaxAgeMs: l.fixMaxAgeS * 1000,
    clock: deps.clock,
    store: new MovementStore(stateDir(config), { readOnly: deps.readOnly ?? false }),
    logger,
  });
}
