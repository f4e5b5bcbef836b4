// What the location part reports. Plain JSON: the hub link sends these as they are.

export interface SiteSurvey {
  id: string | null;
  name: string | null;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  altitudeM: number | null;
  /** Accuracy of the surveyed position, metres. */
  accuracyM: number;
  surveyedAt: string | null;
  rack: string | null;
  row: string | null;
  unit: string | null;
  radiusM: number;
}

export type LocationSource = 'gnss' | 'survey' | 'none';

export interface GnssStatus {
  connected: boolean;
  /** gpsd fix mode of the latest TPV: 0 unknown, 1 no fix, 2 2D, 3 3D. */
  mode: number;
  satellitesUsed: number | null;
  satellitesVisible: number | null;
  /** Receiver time of the latest fix with a position. */
  lastFixAt: string | null;
}

export interface LocationReport {
  /** The best source right now, and its position. */
  source: LocationSource;
  latitude: number | null;
  longitude: number | null;
  altitudeM: number | null;
  accuracyM: number | null;
  /** Seconds since the position was measured (survey: since surveyedAt, if known). */
  ageS: number | null;
  /** 'unknown' when the site has no surveyed coordinates. */
  zone: 'inside' | 'outside' | 'unknown';
  /** Distance of the latest GNSS fix from the surveyed site, metres. */
  distanceM: number | null;
  site: SiteSurvey | null;
  gnss: GnssStatus | null;
  at: string;
}

export type LocationEvent =
  | {
      type: 'location.moved' | 'location.returned';
      at: string;
      siteId: string | null;
      distanceM: number;
      latitude: number;
      longitude: number;
      accuracyM: number | null;
      /** Receiver time of the first fix of the deciding streak, and of the last. */
      since: string;
      fixAt: string;
      fixes: number;
    }
  | { type: 'location.report'; reason: string; location: LocationReport };
