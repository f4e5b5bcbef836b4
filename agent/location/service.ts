// The location service: surveyed site data + gpsd fixes → best source, moved/returned events and
// rate-limited reports. Built by app.ts (or the CLI) with its parts handed in.
import type { Clock } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import type { GpsdClient } from './gpsd-client.ts';
import type { GpsdMessage, TpvFix } from './gpsd-messages.ts';
import { MovementDetector, type MovementOptions, type MovementEvent } from './movement.ts';
import type { MovementStore, SiteKey } from './movement-store.ts';
import { distanceM } from './geo.ts';
import { reportReason, type ReportLimits } from './report-limiter.ts';
import type { LocationEvent, LocationReport, SiteSurvey } from './types.ts';
import { monotonicMs } from '../lib/monotonic.ts';

export interface LocationServiceOptions {
  site: SiteSurvey | null;
  gpsd: GpsdClient | null;
  movement: Omit<MovementOptions, 'radiusM'>;
  limits: ReportLimits;
  fixMaxAgeMs: number;
  /** Wall time for timestamps and survey age: pass the trusted-time clock. */
  clock: Clock;
  /** For fix ages (immune to wall-clock jumps). */
  monotonic?: () => number;
  store: MovementStore | null;
  logger: Logger;
  /** How often reports are re-evaluated without new fixes (stale fix, heartbeat). */
  tickMs?: number;
}

type Positioned = TpvFix & { latitude: number; longitude: number };

export class LocationService {
  readonly #o: LocationServiceOptions;
  readonly #mono: () => number;
  readonly #listeners = new Set<(e: LocationEvent) => void>();
  readonly #siteKey: SiteKey | null;
  #detector: MovementDetector | null = null;
  #lastFix: { fix: Positioned; mono: number } | null = null;
  #lastMode = 0;
  #sats: { used: number | null; visible: number | null } = { used: null, visible: null };
  #lastDistance: number | null = null;
  #lastReport: { loc: LocationReport; atMs: number } | null = null;
  #saving: Promise<void> = Promise.resolve();

  constructor(o: LocationServiceOptions) {
    this.#o = o;
    this.#mono = o.monotonic ?? monotonicMs;
    const s = o.site;
    this.#siteKey = s && s.latitude !== null && s.longitude !== null ? { latitude: s.latitude, longitude: s.longitude, radiusM: s.radiusM } : null;
  }

  onEvent(listener: (e: LocationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads the persisted zone, connects to gpsd, emits the first report; runs until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#siteKey) {
      const zone = (await this.#o.store?.load(this.#siteKey).catch((err: Error) => {
        this.#o.logger.warn('cannot read the stored location zone', { err });
        return null;
      })) ?? 'inside';
      this.#detector = new MovementDetector(this.#siteKey, { ...this.#o.movement, radiusM: this.#siteKey.radiusM }, zone);
    }
    if (signal.aborted) return;
    const gpsd = this.#o.gpsd;
    if (gpsd) {
      gpsd.onMessage((m) => this.#onMessage(m));
      gpsd.onStatus(() => this.#maybeReport());
      gpsd.start(signal);
    }
    const tick = setInterval(() => this.#maybeReport(), this.#o.tickMs ?? Math.min(10_000, this.#o.limits.heartbeatMs));
    tick.unref();
    signal.addEventListener('abort', () => clearInterval(tick), { once: true });
    this.#maybeReport();
  }

  /** Waits for pending zone writes (tests, shutdown). */
  flush(): Promise<void> {
    return this.#saving;
  }

  current(): LocationReport {
    const now = this.#o.clock.now();
    const site = this.#o.site;
    const fix = this.#lastFix;
    const fixAgeMs = fix ? this.#mono() - fix.mono : Infinity;
    const gnss = fix
      ? { latitude: fix.fix.latitude, longitude: fix.fix.longitude, altitudeM: fix.fix.altitudeM, accuracyM: fix.fix.accuracyM, ageS: Math.round(fixAgeMs / 1000) }
      : null;
    const survey =
      site && site.latitude !== null && site.longitude !== null
        ? {
            latitude: site.latitude, longitude: site.longitude, altitudeM: site.altitudeM, accuracyM: site.accuracyM,
            ageS: site.surveyedAt ? Math.max(0, Math.round((now - Date.parse(site.surveyedAt)) / 1000)) : null,
          }
        : null;
    const zone = this.#detector?.zone ?? 'unknown';
    const fresh = gnss && fixAgeMs <= this.#o.fixMaxAgeMs ? gnss : null;
    let source: 'gnss' | 'survey' | 'none' = 'none';
    if (zone === 'outside' && gnss) source = 'gnss'; // the survey no longer says where the node is
    else if (fresh && survey) source = (fresh.accuracyM ?? Infinity) < survey.accuracyM ? 'gnss' : 'survey';
    else if (fresh) source = 'gnss';
    else if (survey) source = 'survey';
    else if (gnss) source = 'gnss'; // stale, but better than nothing; ageS says how stale
    const pos = source === 'gnss' ? gnss! : source === 'survey' ? survey! : null;
    return {
      source,
      latitude: pos?.latitude ?? null,
      longitude: pos?.longitude ?? null,
      altitudeM: pos?.altitudeM ?? null,
      accuracyM: pos?.accuracyM ?? null,
      ageS: pos?.ageS ?? null,
      zone,
      distanceM: this.#lastDistance === null ? null : Math.round(this.#lastDistance),
      site: site ?? null,
      gnss: this.#o.gpsd
        ? {
            connected: this.#o.gpsd.status.connected,
            mode: this.#lastMode,
            satellitesUsed: this.#sats.used,
            satellitesVisible: this.#sats.visible,
            lastFixAt: fix?.fix.timeMs != null ? new Date(fix.fix.timeMs).toISOString() : null,
          }
        : null,
      at: new Date(now).toISOString(),
    };
  }

  #onMessage(m: GpsdMessage): void {
    if (m.class === 'SKY') {
      this.#sats = { used: m.satellitesUsed, visible: m.satellitesVisible };
      return;
    }
    this.#lastMode = m.mode;
    if (m.mode < 2 || m.latitude === null || m.longitude === null) return this.#maybeReport();
    const fix = m as Positioned;
    this.#lastFix = { fix, mono: this.#mono() };
    if (this.#siteKey) this.#lastDistance = distanceM(this.#siteKey, fix);
    // Movement needs the receiver's timestamps; a TPV without time is not an epoch to count.
    if (this.#detector && fix.timeMs !== null) {
      const ev = this.#detector.feed({ latitude: fix.latitude, longitude: fix.longitude, accuracyM: fix.accuracyM, mode: fix.mode, timeMs: fix.timeMs });
      if (ev) this.#onMovement(ev);
    }
    this.#maybeReport();
  }

  #onMovement(ev: MovementEvent): void {
    const zone = ev.type === 'moved' ? 'outside' : 'inside';
    const key = this.#siteKey!;
    this.#saving = this.#saving
      .then(() => this.#o.store?.save(key, zone, ev.fix.timeMs))
      .catch((err: Error) => this.#o.logger.error('cannot persist the location zone', { err }));
    this.#o.logger.warn(`node ${ev.type} (site ${this.#o.site?.id ?? '?'})`, { distanceM: Math.round(ev.distanceM), fixes: ev.fixes });
    this.#emit({
      type: ev.type === 'moved' ? 'location.moved' : 'location.returned',
      at: new Date(this.#o.clock.now()).toISOString(),
      siteId: this.#o.site?.id ?? null,
      distanceM: Math.round(ev.distanceM),
      latitude: ev.fix.latitude,
      longitude: ev.fix.longitude,
      accuracyM: ev.fix.accuracyM,
      since: new Date(ev.sinceMs).toISOString(),
      fixAt: new Date(ev.fix.timeMs).toISOString(),
      fixes: ev.fixes,
    });
  }

  #maybeReport(): void {
    const loc = this.current();
    const nowMs = this.#mono();
    const reason = reportReason(this.#lastReport, loc, nowMs, this.#o.limits);
    if (!reason) return;
    this.#lastReport = { loc, atMs: nowMs };
    this.#emit({ type: 'location.report', reason, location: loc });
  }

  #emit(e: LocationEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#o.logger.error('location listener failed', { err: err as Error });
      }
    }
  }
}
