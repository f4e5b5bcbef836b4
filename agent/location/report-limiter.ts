// Decides whether a location is worth reporting: only a meaningful change (source, zone,
// position moved by ≥ minDistanceM, accuracy changed by ≥ minAccuracyChangeM) or the slow
// heartbeat. Keeps a node with a jittery GNSS fix from chattering over a metered link.
import { distanceM } from './geo.ts';

export interface ReportLimits {
  minDistanceM: number;
  minAccuracyChangeM: number;
  heartbeatMs: number;
}

export interface Reportable {
  source: string;
  zone: string;
  latitude: number | null;
  longitude: number | null;
  accuracyM: number | null;
}

export function reportReason(prev: { loc: Reportable; atMs: number } | null, next: Reportable, nowMs: number, l: ReportLimits): string | null {
  if (!prev) return 'first';
  const p = prev.loc;
  if (p.source !== next.source) return 'source';
  if (p.zone !== next.zone) return 'zone';
  if (p.latitude !== null && p.longitude !== null && next.latitude !== null && next.longitude !== null) {
    const d = distanceM({ latitude: p.latitude, longitude: p.longitude }, { latitude: next.latitude, longitude: next.longitude });
    if (d >= l.minDistanceM) return 'distance';
  } else if ((p.latitude === null) !== (next.latitude === null)) {
    return 'position';
  }
  if ((p.accuracyM === null) !== (next.accuracyM === null)) return 'accuracy';
  if (p.accuracyM !== null && next.accuracyM !== null && Math.abs(p.accuracyM - next.accuracyM) >= l.minAccuracyChangeM) return 'accuracy';
  if (nowMs - prev.atMs >= l.heartbeatMs) return 'heartbeat';
  return null;
}
