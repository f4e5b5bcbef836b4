// The update subsystem's front door: hub offers and cancels, the resume at start, waits for the
// update lock, and hub-pushed windows and health-check tuning. The daemon hands it to the hub
// link (it matches agent/hub/ports.ts by shape); the state machine behind it is update/service.ts.
import type { TransferRecord } from './journal.ts';
import type { AckDecision, Offer, PushedConfig } from '../../shared/protocol/messages.ts';
import type { Logger } from '../log/logger.ts';
import type { BundleSource } from '../bundle/source.ts';
import type { HealthCheckConfig } from '../config/sections/update.ts';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import { checkWindows, type DeploymentWindows, type WindowLayer } from '../window/plan.ts';
import { runInWindows, type WindowGate } from '../window/scheduler.ts';
import { isBeforeArming, reportedResult, type ReportedResult, type State } from './machine.ts';
import { PushedHealthChecks } from './pushed-checks.ts';
import { stateWriteErrno, stateWriteError } from './state-writes.ts';
import type { RunResult, UpdateEvent } from './runner.ts';
import type { UpdateService } from './service.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

/** What the controller reads of an offer. */
export type OfferInput = Pick<Offer, 'deploymentId' | 'bundle' | 'now' | 'windows' | 'installWindows'> & Partial<Pick<Offer, 'version' | 'release'>>;

/** 'duplicate': this deployment is already known (running, parked or finished); nothing new starts. */
export type OfferDecision = AckDecision<ErrorCode>;

/** An event for the hub: state and outcome are never dropped; the outcome says how it ended. */
export type ControllerEvent =
  | { type: 'progress'; deploymentId: string; phase: 'write'; done: number; total: number; transfer?: TransferRecord }
  | { type: 'state'; deploymentId: string; state: State; code?: ErrorCode; message?: string }
  | { type: 'outcome'; deploymentId: string; result: ReportedResult; version?: string; code?: ErrorCode; message?: string; log: string };

/** The window plan as the controller drives it (agent/window/plan.ts). */
export interface DeploymentPlan {
  readonly deployment: DeploymentWindows | null;
  setDeployment(d: DeploymentWindows): Promise<void>;
  endDeployment(id: string): Promise<void>;
  setPushed(p: WindowLayer): void;
}

export interface ControllerDeps {
  readonly service: UpdateService;
  /** The source of an offered bundle (the fetcher's HTTP source). */
  readonly sourceFor: (url: string) => BundleSource;
  /** Downloads run only while it is open (windows, budget). */
  readonly gate: WindowGate;
  readonly plan: DeploymentPlan;
  /** null when the trust store and release floor load; else their error (offers are refused with it). */
  readonly policy: { problem(): Promise<{ code: ErrorCode; message: string } | null> };
  readonly healthChecks: PushedHealthChecks<HealthCheckConfig>;
  /** The last push the hub link stored (read once at `open`); an unusable one is logged and ignored. */
  readonly storedPush?: () => Promise<PushedConfig | null>;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly log: Logger;
  /** Pause between tries while another process (an operator's CLI) holds the update lock. */
  readonly lockRetryMs?: number;
}

/** Steps that use the network: only these are stopped when the download window closes. */
const DOWNLOADING: ReadonlySet<State> = new Set(['preparing', 'writing']);

interface Prepared {
  readonly push: PushedConfig;
  readonly windows: WindowLayer;
  readonly checks: readonly HealthCheckConfig[] | null;
}

export class UpdateController {
  readonly #d: ControllerDeps;
  readonly #listeners = new Set<(e: ControllerEvent) => void>();
  /** The deployment this process drives (or waits to start) on behalf of an offer or the resume. */
  #running: string | null = null;
  /** Aborts the drive's waits (download window, update lock) when its deployment is cancelled. */
  #waiting: AbortController | null = null;
  #current: { deploymentId: string; state: State } | null = null;
  #prepared: Prepared | null = null;
  #signal: AbortSignal = new AbortController().signal;
  /** Settles when the drive or resume that set #running returns (after its outcome was emitted). */
  #work: Promise<unknown> | null = null;
  /** The id whose outcome was last emitted (its work may still be returning). */
  #ended: string | null = null;

  constructor(deps: ControllerDeps) {
    this.#d = deps;
    deps.service.subscribe((e) => this.#onServiceEvent(e));
  }

  /** Applies the stored push (a refused one keeps the provisioned settings: the agent must start). */
  async open(): Promise<void> {
    const stored = await this.#d.storedPush?.();
    if (!stored) return;
    try {
      this.configure(stored);
    } catch (err) {
      this.#d.log.error('stored hub-pushed settings refused; using the provisioned ones', { err });
    }
  }

  /** Current deployment, if any (for status output and the hub hello). */
  status(): { deploymentId: string; state: string } | null {
    return this.#current;
  }

  onEvent(listener: (e: ControllerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Checks an offer and starts it in the download windows; the decision is returned at once. A
   * replayed offer (same deployment id) is "duplicate" whether it runs, waits, is parked or ended.
   */
  async offer(o: OfferInput): Promise<OfferDecision> {
    if (this.#running === o.deploymentId) return { result: 'duplicate' };
    await this.#afterOutcome();
    if (this.#running) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${this.#running} is running` };
    const d = (await this.#d.service.status()).deployment;
    if (d?.id === o.deploymentId) return { result: 'duplicate' };
    if (d && d.outcome === null) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${d.id} is ${d.state}` };
    // A trust store or floor file that does not load refuses every bundle: the ack says why.
    const broken = await this.#d.policy.problem();
    if (broken) {
      this.#d.log.error('offer refused: bundle trust store or release floor unusable', { deploymentId: o.deploymentId, code: broken.code, message: broken.message });
      return { result: 'rejected', code: broken.code, message: broken.message };
    }
    // A full state disk refuses the offer with a code before anything is written.
    try {
      await this.#d.service.checkRoom();
    } catch (err) {
      this.#d.log.warn('offer refused: the state directory cannot take a deployment', { deploymentId: o.deploymentId, err });
      return refusal(err);
    }
    // Another offer may have been accepted while this one was checked.
    if (this.#running === o.deploymentId) return { result: 'duplicate' };
    if (this.#running) return { result: 'rejected', code: 'E_UPDATE_BUSY', message: `deployment ${this.#running} is running` };
    this.#running = o.deploymentId;
    try {
      // Validated with the window maths and on disk before the ack: a restart keeps honouring it.
      await this.#d.plan.setDeployment({ deploymentId: o.deploymentId, now: o.now === true, windows: o.windows ?? null, installWindows: o.installWindows ?? null });
    } catch (err) {
      this.#running = null;
      return refusal(err);
    }
    // The offer pins its bundle: a validly signed other bundle at that URL is refused (E_OFFER_MISMATCH).
    const fetched = this.#d.sourceFor(o.bundle.url);
    const source = o.bundle.manifestSha256 && o.version !== undefined && o.release !== undefined
      ? { ...fetched, deliver: fetched.deliver.bind(fetched), pin: { manifestSha256: o.bundle.manifestSha256, version: o.version, release: o.release } }
      : fetched;
    // No wait for the lock here: an on-site operator's install wins, and the hub hears E_UPDATE_BUSY.
    void this.#track(this.#drive(o.deploymentId, () => this.#d.service.start(source, { id: o.deploymentId }), this.#signal));
    return { result: 'accepted' };
  }

  /**
   * Cancels a deployment before arming: waiting for a window or the lock, downloading, verifying,
   * waiting for an install window, or stopped mid-download by this or another process. False:
   * nothing of that id is in progress. Throws E_CANCEL_TOO_LATE from arming on; E_UPDATE_BUSY
   * while another process (an operator's `outpost install`) drives it.
   */
  async cancel(deploymentId: string): Promise<boolean> {
    const d = (await this.#d.service.status()).deployment;
    const journaled = d?.id === deploymentId && d.outcome === null;
    // Its outcome is out (the step that emitted it may still be returning): nothing to cancel.
    const ours = this.#running === deploymentId && this.#ended !== deploymentId;
    if (!ours && !journaled) return false;
    if (journaled && !isBeforeArming(d.state)) {
      throw new OutpostError('E_CANCEL_TOO_LATE', `deployment ${deploymentId} is in ${d.state}: past arming it can only be rolled back`);
    }
    const taken = await this.#d.service.cancelDeployment(deploymentId);
    // A drive waiting for its window or for the lock stops waiting; if it never started, its
    // catch reports the cancel (the journal never heard of it).
    if (ours) this.#waiting?.abort(new OutpostError('E_CANCELLED', 'cancelled'));
    return taken || ours;
  }

  /** Throws (E_WINDOW_*, E_PUSH_HEALTH_CHECK) when this node cannot use a push; changes nothing. */
  validate(pushed: PushedConfig): void {
    this.#prepared = {
      push: pushed,
      windows: {
        ...(pushed.windows ? { windows: checkWindows(pushed.windows, 'windows') } : {}),
        ...(pushed.installWindows ? { installWindows: checkWindows(pushed.installWindows, 'installWindows') } : {}),
      },
      checks: this.#d.healthChecks.prepare(pushed.healthChecks),
    };
  }

  /** Applies a push: windows to the plan, health-check tuning to the next trial boots. */
  configure(pushed: PushedConfig): void {
    // The hub link validates before it stores, then configures: validated once.
    if (this.#prepared?.push !== pushed) this.validate(pushed);
    const p = this.#prepared!;
    this.#d.plan.setPushed(p.windows);
    this.#d.healthChecks.set(p.checks);
    this.#d.log.info('hub-pushed settings applied', {
      windows: pushed.windows?.length ?? null, installWindows: pushed.installWindows?.length ?? null, healthChecks: pushed.healthChecks?.length ?? null,
    });
  }

  /**
   * At start: continues the journal's deployment (a download in the download windows), waiting
   * while another process holds the update lock. `signal` is the daemon's: offers run under it.
   */
  async resume(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const service = this.#d.service;
    const d = (await service.status()).deployment;
    const own = this.#d.plan.deployment;
    if (own && (d?.id !== own.deploymentId || d.outcome !== null)) await this.#d.plan.endDeployment(own.deploymentId);
    if (d && d.outcome === null && DOWNLOADING.has(d.state)) {
      this.#d.log.info('resuming the download in the download windows', { deploymentId: d.id, state: d.state });
      await this.#track(this.#drive(d.id, (sig) => this.#whenLockFree(() => service.resumeAfterBoot(), sig), signal));
      return;
    }
    const resuming = d && d.outcome === null ? d.id : null;
    if (resuming) this.#running = resuming;
    try {
      const r = await this.#track(this.#whenLockFree(() => service.resumeAfterBoot(), signal));
      if (r) this.#d.log.info('deployment resumed after start', { result: r.kind });
    } finally {
      // An offer accepted while the resume ran (nothing to resume) owns #running now.
      if (resuming && this.#running === resuming) this.#running = null;
    }
  }

  /**
   * The hub hears an outcome before the step that produced it returns: an offer sent on that
   * outcome must not be refused as busy, so it waits for that (bounded) tail of the work.
   */
  async #afterOutcome(): Promise<void> {
    const work = this.#work;
    if (!this.#running || !work || this.#ended !== this.#running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work.catch(() => {}), new Promise((r) => { timer = setTimeout(r, 30_000); })]);
    clearTimeout(timer);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    const work = p.finally(() => { if (this.#work === work) this.#work = null; });
    this.#work = work;
    return work;
  }

  #emit(e: ControllerEvent): void {
    if (e.type === 'outcome') this.#ended = e.deploymentId;
    for (const l of this.#listeners) l(e);
  }

  #onServiceEvent(e: UpdateEvent): void {
    switch (e.type) {
      case 'state':
        this.#current = { deploymentId: e.id, state: e.state };
        return this.#emit({ type: 'state', deploymentId: e.id, state: e.state, ...errorFields(e.error) });
      case 'progress':
        return this.#emit({ type: 'progress', deploymentId: e.id, phase: 'write', done: e.done, total: e.total, ...(e.transfer ? { transfer: { ...e.transfer } } : {}) });
      case 'outcome':
        this.#d.plan.endDeployment(e.id).catch((err) => this.#d.log.warn('cannot clear deployment windows', { err }));
        return this.#emit({
          type: 'outcome', deploymentId: e.id, result: reportedResult(e.outcome, e.error), ...(e.version ? { version: e.version } : {}),
          ...errorFields(e.error), log: e.log.join('\n'),
        });
    }
  }

  /** Runs a deployment's steps in the download windows; reports an end the journal never saw. */
  async #drive(id: string, first: (sig: AbortSignal) => Promise<RunResult | null>, sig: AbortSignal): Promise<void> {
    this.#running = id;
    const cancel = new AbortController();
    this.#waiting = cancel;
    const signal = AbortSignal.any([sig, cancel.signal]);
    const service = this.#d.service;
    const steps = { stop: () => service.stop(), resume: () => service.resumeAfterBoot() };
    const downloading = () => this.#current !== null && DOWNLOADING.has(this.#current.state);
    try {
      const r = await runInWindows(this.#d.gate, steps, () => first(signal), signal, this.#d.log, downloading);
      this.#d.log.info('deployment step finished', { deploymentId: id, result: r?.kind ?? null });
    } catch (err) {
      const journaled = (await service.status()).deployment?.id === id;
      if (journaled) {
        // Its outcome comes from the state machine (a cancel of a stopped download abandons it there).
        if (!cancel.signal.aborted) this.#d.log.error('deployment step failed', { deploymentId: id, err });
        return;
      }
      await this.#d.plan.endDeployment(id).catch(() => {});
      if (cancel.signal.aborted) {
        this.#d.log.info('deployment cancelled before its download started', { deploymentId: id });
        const error: { code: ErrorCode; message: string } = { code: 'E_CANCELLED', message: 'cancelled before the download started' };
        this.#emit({ type: 'outcome', deploymentId: id, result: reportedResult('failed', error), ...error, log: '' });
        return;
      }
      if (sig.aborted) return; // shutdown before it started: the plan is gone, the hub offers again
      // It never started: the offer was acknowledged "accepted", so the hub must hear how it ended.
      this.#d.log.error('deployment could not start', { deploymentId: id, err });
      const error = { code: isOutpostError(err) ? err.code : 'E_INTERNAL', message: (err as Error).message };
      // Never started: it ends as `failed` would, through the one function that names results.
      this.#emit({ type: 'outcome', deploymentId: id, result: reportedResult('failed', error), ...error, log: '' });
    } finally {
      // Only our own: a later drive may have started meanwhile.
      if (this.#running === id) this.#running = null;
      if (this.#waiting === cancel) this.#waiting = null;
    }
  }

  /**
   * Runs `fn`, waiting while another process (a boot-time `outpost install --resume`, an
   * operator's CLI) holds the update lock: a moment's overlap must not fail a deployment.
   */
  async #whenLockFree<T>(fn: () => Promise<T>, sig: AbortSignal): Promise<T | null> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!isOutpostError(err, 'E_UPDATE_BUSY') || !err.retryable || sig.aborted) throw err;
        const ms = this.#d.lockRetryMs ?? 5_000;
        this.#d.log.warn(`update lock held by another process; trying again in ${ms} ms`, { err });
        await this.#d.sleep(ms, sig).catch(() => {});
        if (sig.aborted) return null;
      }
    }
  }
}

/** A coded `rejected` ack: a state disk that refuses the write says so (E_STATE_NO_SPACE / E_STATE_WRITE). */
function refusal(err: unknown): OfferDecision {
  const coded = isOutpostError(err) && !(err.code === 'E_STATE_WRITE' && stateWriteErrno(err)) ? err : stateWriteErrno(err) ? stateWriteError(err, 'the deployment plan') : null;
  return { result: 'rejected', code: coded?.code ?? 'E_COMMAND_FAILED', message: coded?.message ?? (err as Error).message };
}

function errorFields(e: { code: ErrorCode; message: string } | null): { code?: ErrorCode; message?: string } {
  return e ? { code: e.code, message: e.message } : {};
}
