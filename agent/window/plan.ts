// Which windows are in force, in one place. Three layers, the most specific wins:
//   the running deployment's own (from its offer)  >  hub-pushed  >  provisioned config.
// Download windows and "download now" go to the download gate; install windows gate arming.
// The deployment's layer is written to a small file next to the journal before the deployment
// starts, so a restart keeps honouring what the accepted offer asked for.
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { compileWindow, type WindowSpec } from './window.ts';

export const DEPLOYMENT_WINDOWS_FILE = 'deployment-windows.json';

/** What an accepted offer (or `outpost install URL`) asked for; null fields: not given. */
export interface DeploymentWindows {
  readonly deploymentId: string;
  /** Download now: ignore download windows and the byte budget. */
  readonly now: boolean;
  readonly windows: readonly WindowSpec[] | null;
  readonly installWindows: readonly WindowSpec[] | null;
}

export interface WindowLayer {
  readonly windows?: readonly WindowSpec[];
  readonly installWindows?: readonly WindowSpec[];
}

/** The part of the download gate the plan drives. */
export interface GateControl {
  setWindows(windows: readonly WindowSpec[] | null): void;
  setOverride(until: number | null): void;
}

/** Checks cron, zone and duration with the window maths itself (E_WINDOW_CRON / _TIMEZONE / _DURATION). */
export function checkWindows(list: readonly WindowSpec[], what: string): readonly WindowSpec[] {
  return Object.freeze(
    list.map((w, i) => {
      const spec: WindowSpec = Object.freeze({ cron: w.cron, durationMinutes: w.durationMinutes, timezone: w.timezone, maxBytesPerSecond: w.maxBytesPerSecond ?? null });
      try {
        compileWindow(spec);
      } catch (err) {
        if (!(err instanceof OutpostError)) throw err;
        throw new OutpostError(err.code, `${what}[${i}]: ${err.message}`);
      }
      return spec;
    }),
  );
}

function validateFile(raw: unknown): DeploymentWindows {
  if (typeof raw !== 'object' || raw === null) throw new Error('expected an object');
  const o = raw as Record<string, unknown>;
  if (typeof o.deploymentId !== 'string' || typeof o.now !== 'boolean') throw new Error('bad deploymentId/now');
  const list = (v: unknown, what: string) => {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new Error(`${what}: expected an array or null`);
    return checkWindows(v as WindowSpec[], what);
  };
  return { deploymentId: o.deploymentId, now: o.now, windows: list(o.windows, 'windows'), installWindows: list(o.installWindows, 'installWindows') };
}

export interface WindowPlanOptions {
  /** The update state directory (where the journal lives). */
  readonly dir: string;
  readonly configured: { readonly windows: readonly WindowSpec[]; readonly installWindows: readonly WindowSpec[] };
  readonly gate: GateControl | null;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger?: Logger;
}

/** Implements the update machine's InstallWindows port (agent/update/ports.ts) by shape. */
export class WindowPlan {
  readonly #o: WindowPlanOptions;
  readonly #log: Logger;
  #pushed: WindowLayer = {};
  #deployment: DeploymentWindows | null = null;
  /** Aborted (and replaced) whenever a layer changes, to wake install-window waiters. */
  #changed = new AbortController();

  constructor(o: WindowPlanOptions) {
    this.#o = o;
    this.#log = (o.logger ?? silentLogger()).child('windows');
  }

  get path(): string {
    return join(this.#o.dir, DEPLOYMENT_WINDOWS_FILE);
  }

  /** Reads the persisted deployment layer (a corrupt file is set aside and ignored). */
  async load(): Promise<DeploymentWindows | null> {
    const r = await readJsonOrSetAside(this.path, validateFile);
    if (r.kind === 'corrupt') this.#log.error('deployment windows unreadable, set aside', { file: r.setAsideTo, reason: r.reason });
    this.#deployment = r.kind === 'ok' ? r.value : null;
    this.#apply();
    return this.#deployment;
  }

  get deployment(): DeploymentWindows | null {
    return this.#deployment;
  }

  /** Validates, persists, then applies a deployment's own windows. */
  async setDeployment(d: DeploymentWindows): Promise<void> {
    const checked: DeploymentWindows = {
      deploymentId: d.deploymentId,
      now: d.now,
      windows: d.windows === null ? null : checkWindows(d.windows, 'windows'),
      installWindows: d.installWindows === null ? null : checkWindows(d.installWindows, 'installWindows'),
    };
    await writeJsonAtomic(this.path, checked);
    this.#deployment = checked;
    this.#apply();
  }

  /** The deployment ended (or was never started): back to pushed/configured windows. */
  async endDeployment(id: string): Promise<void> {
    if (this.#deployment?.deploymentId !== id) return;
    this.#deployment = null;
    await rm(this.path, { force: true });
    this.#apply();
  }

  /** Hub-pushed windows (the whole previous push is replaced). Throws E_WINDOW_* and keeps the old layer. */
  setPushed(p: WindowLayer): void {
    const next: WindowLayer = {
      ...(p.windows ? { windows: checkWindows(p.windows, 'windows') } : {}),
      ...(p.installWindows ? { installWindows: checkWindows(p.installWindows, 'installWindows') } : {}),
    };
    this.#pushed = next;
    this.#apply();
  }

  /** Download windows in force now. */
  downloadWindows(): readonly WindowSpec[] {
    return this.#deployment?.windows ?? this.#pushed.windows ?? this.#o.configured.windows;
  }

  async forDeployment(id: string): Promise<readonly WindowSpec[]> {
    const d = this.#deployment?.deploymentId === id ? this.#deployment : null;
    return d?.installWindows ?? this.#pushed.installWindows ?? this.#o.configured.installWindows;
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    const changed = this.#changed.signal;
    try {
      await this.#o.sleep(ms, AbortSignal.any([signal, changed]));
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!changed.aborted) throw err;
    }
  }

  #apply(): void {
    const d = this.#deployment;
    this.#o.gate?.setWindows(d?.windows ?? this.#pushed.windows ?? null);
    // "Now" lasts as long as the deployment: cleared when it ends.
    this.#o.gate?.setOverride(d?.now ? Number.POSITIVE_INFINITY : null);
    const old = this.#changed;
    this.#changed = new AbortController();
    old.abort();
  }
}
