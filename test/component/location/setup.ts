// A LocationService wired like app.ts does, pointed at a test gpsd, collecting its events.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocationService } from '../../../agent/location/service.ts';
import { GpsdClient } from '../../../agent/location/gpsd-client.ts';
import { MovementStore } from '../../../agent/location/movement-store.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { LocationEvent, SiteSurvey } from '../../../agent/location/types.ts';
import { SITE } from '../../../scripts/make-nmea.ts';
import { lastEpochMs } from './gpsfake.ts';
import { waitFor } from '../../support/wait-for.ts';

export const SURVEY: SiteSurvey = {
  id: 'ber-07', name: 'Berlin 7', address: 'Alexanderplatz 1, Berlin', latitude: SITE.latitude, longitude: SITE.longitude,
  altitudeM: SITE.altitude, accuracyM: 10, surveyedAt: '2026-05-01T00:00:00Z', rack: 'R4', row: '2', unit: '17', radiusM: SITE.radiusM,
};

export async function locationUnderTest(port: number, opts: { survey?: Partial<SiteSurvey>; stateDir?: string; log?: string } = {}) {
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'outpost-loc-')));
  const events: LocationEvent[] = [];
  const gpsd = new GpsdClient({ host: '127.0.0.1', port, logger: silentLogger(), reconnectBaseMs: 200, reconnectCapMs: 1000 });
  const service = new LocationService({
    site: { ...SURVEY, ...opts.survey },
    gpsd,
    movement: { hysteresisM: 25, maxAccuracyM: 50, fixes: 5, seconds: 5 },
    limits: { minDistanceM: 50, minAccuracyChangeM: 25, heartbeatMs: 3_600_000 },
    fixMaxAgeMs: 30_000,
    clock: { now: () => Date.now() },
    store: new MovementStore(stateDir),
    logger: silentLogger(),
  });
  service.onEvent((e) => events.push(e));
  const ac = new AbortController();
  await service.start(ac.signal);
  // Registered after the service's own listener: when a fix arrives here, the service has
  // already acted on it. The events as they stood at the log's last epoch (first pass).
  const replayed = opts.log ? lastEpochMs(opts.log) : null;
  let atEnd: LocationEvent[] | null = null;
  gpsd.onMessage((m) => {
    if (m.class === 'TPV' && m.timeMs === replayed && !atEnd) atEnd = [...events];
  });
  const of = (type: LocationEvent['type'], list = events) => list.filter((e) => e.type === type);
  return {
    service, gpsd, events, of, stateDir,
    /** Resolves with the events seen by the end of the log's first pass. */
    async replayed(): Promise<LocationEvent[]> {
      await waitFor('the whole log replayed', () => atEnd !== null, undefined, { detail: () => `client ${JSON.stringify(gpsd.status)}` });
      return atEnd!;
    },
    async close(removeState = true) {
      ac.abort();
      await service.flush();
      if (removeState) await rm(stateDir, { recursive: true, force: true });
    },
  };
}
