// Drives the machine: persist the state, run its handler, feed the event to the table, repeat.
// Persist-before-act means a power cut at any instant leaves a journal naming a state whose
// handler is safe to run again (see RESUME in machine.ts).
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { BundleSource } from '../bundle/source.ts';
import type { UpdateDeps } from './ports.ts';
import type { ErrorInfo, Journal, TransferRecord } from './journal.ts';
import type { HandlerContext } from './handlers/context.ts';
import { JournalStore, outcomeOf } from './journal.ts';
import { countsAsVisit, isParked, isTerminal, next, NONE, resumeState, row, type Event, type From, type Outcome, type State } from './machine.ts';
import { HANDLERS } from './handlers/index.ts';
import { captureLogger, deploymentLogPath, readDeploymentLog } from './deployment-log.ts';
import { currentBootId } from './boot-id.ts';
import { writeJsonAtomic } from '../lib/atomic-file.ts';
import { pruneDeploymentRecords, releaseSpaceReserve } from './state-space.ts';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import { retryStateWrite, stateWriteErrno, stateWriteError, STATE_WRITE_RETRY_MS } from './state-writes.ts';

export type UpdateEvent =
  /** `from` and `via` name the row of TRANSITIONS (or RESUME, via 'resume') that led here. */
  | { type: 'state'; id: string; state: State; error: ErrorInfo | null; from: From; via: Event | 'resume' }
  | { type: 'progress'; id: string; done: number; total: number; transfer?: TransferRecord }
  /** The version the node verified (null: it never got that far) and the deployment's log lines. */
  | { type: 'outcome'; id: string; outcome: Outcome; error: ErrorInfo | null; version: string | null; log: readonly string[] };

/** Where a drive stopped: a final outcome, or parked until the node reboots, or shut down. */
export type RunResult =
  | { kind: 'outcome'; id: string; outcome: Outcome; error: ErrorInfo | null }
  | { kind: 'parked'; id: string; state: State }
  | { kind: 'stopped'; id: string; state: State }
  /** A start with the id of the deployment already in the journal: nothing new was started. */
  | { kind: 'in_progress'; id: string; state: State };

export class Runner {
  readonly deps: UpdateDeps;
  readonly store: JournalStore;
  private readonly listeners = new Set<(e: UpdateEvent) => void>();
  private controller: AbortController | null = null;
  /** An abort asked for while no step was running applies to the next step (not lost). */
  private requested: 'cancel' | 'shutdown' | null = null;
  private running = false;
  /** The deployment whose step runs now (null: none in this process). */
  private active: string | null = null;
  /** A cancel for a deployment whose first step has not begun yet: it aborts that step. */
  private cancelled: string | null = null;
  /**
   * Set while a deployment is ended after its journal could not be written (before arming): the
   * journal on disk still names an earlier pre-arm state, and only `abandoning` and `failed` may follow.
   */
  private degraded = false;
  /** The journal of a deployment that ended while the disk refused it: written by flush(). */
  private unwritten: Journal | null = null;

  constructor(deps: UpdateDeps) {
    this.deps = deps;
    this.store = new JournalStore(deps.dir);
  }

  subscribe(listener: (e: UpdateEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Aborts the running handler: `cancel` rolls the deployment back, `shutdown` leaves it to resume. */
  abort(reason: 'cancel' | 'shutdown'): void {
    if (!this.running) return;
    // A shutdown wins over a cancel: the process is leaving, the journal resumes next start.
    if (this.requested !== 'shutdown') this.requested = reason;
    this.controller?.abort(this.requested);
  }

  /** The newest journal when the one on disk is behind it (a state write failed for good), else null. */
  get pending(): Journal | null {
    return this.unwritten;
  }

  /** Writes a journal the disk refused earlier; false while it still cannot. */
  async flush(): Promise<boolean> {
    const j = this.unwritten;
    if (!j) return true;
    try {
      await this.store.write(j);
    } catch (err) {
      if (stateWriteErrno(err) === null) throw err;
      return false;
    }
    if (this.unwritten === j) this.unwritten = null;
    this.deps.logger.info('deployment journal written now that the state disk takes it', { deployment: j.id, state: j.state });
    return true;
  }

  /** The deployment whose step runs in this process now, if any. */
  get activeId(): string | null {
    return this.active;
  }

  /** Cancels deployment `id`: its running step now, or its next step in this process. */
  cancel(id: string): void {
    if (this.active === id) this.abort('cancel');
    else this.cancelled = id;
  }

  /** A new deployment: the `started` row from NONE, then drives. */
  start(fields: { origin: string; target: string; previous: string; pin?: Journal['pin'] }, source: BundleSource, givenId?: string): Promise<RunResult> {
    const { pin, ...rest } = fields;
    const j = { ...this.newJournal(rest, givenId), pin: pin ?? null };
    return this.enter({ ...j, state: NONE }, 'started', source, null);
  }

  /**
   * The journal replacing a corrupt one (a `recovered_*` row from NONE): written, not driven;
   * the resume drives it. Its entry does not count toward the save counter.
   */
  async recover(fields: { origin: string; target: string; previous: string }, event: 'recovered_revert' | 'recovered_nothing', error: ErrorInfo): Promise<Journal> {
    const to = tableRow(NONE, event);
    const nj: Journal = { ...this.newJournal(fields), state: to, error };
    await this.store.write(nj);
    this.emit({ type: 'state', id: nj.id, state: to, error, from: NONE, via: event });
    return nj;
  }

  /** The row of `event` from the journal's state (E_JOURNAL_STATE when there is none), then drives. */
  apply(journal: Journal, event: Event, source: BundleSource | null, error: ErrorInfo | null = null): Promise<RunResult> {
    return this.enter(journal, event, source, error);
  }

  /** The resume table's state for the journal's state, then drives. */
  resume(journal: Journal, source: BundleSource | null, error: ErrorInfo | null = null): Promise<RunResult> {
    return this.enter(journal, 'resume', source, error);
  }

  private async enter(journal: Journal | (Omit<Journal, 'state'> & { state: typeof NONE }), via: Event | 'resume', source: BundleSource | null, error: ErrorInfo | null): Promise<RunResult> {
    if (this.running) throw new OutpostError('E_UPDATE_BUSY', 'a deployment step is already running in this process');
    const to = via === 'resume' ? resumeState(journal.state as State) : tableRow(journal.state, via);
    this.running = true;
    this.active = journal.id;
    if (this.cancelled === journal.id) this.requested = 'cancel';
    this.cancelled = null;
    try {
      const j = await this.persist(journal as Journal, via, to, error, this.deps.logger.child('update', { deployment: journal.id }));
      return await this.drive(j, source);
    } catch (err) {
      if (err instanceof Stop) return { kind: 'stopped', id: journal.id, state: err.state };
      throw err;
    } finally {
      this.running = false;
      this.active = null;
      this.requested = null;
      this.degraded = false;
    }
  }

  newJournal(fields: { origin: string; target: string; previous: string }, givenId?: string): Journal {
    const at = new Date(this.deps.now()).toISOString();
    const id = givenId ?? `d-${at.replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    return { v: 1, id, state: 'preparing', visits: {}, ...fields, bundle: null, progress: null, error: null, startedAt: at, updatedAt: at };
  }

  private async drive(start: Journal, source: BundleSource | null): Promise<RunResult> {
    let j = start;
    const log = captureLogger(this.deps.logger.child('update', { deployment: j.id }), deploymentLogPath(this.deps.dir, j.id), this.deps.deploymentLogBytes, this.deps.now);
    for (;;) {
      const outcome = outcomeOf(j);
      if (outcome) return this.finish(j, outcome, log);
      if (isParked(j.state)) return { kind: 'parked', id: j.id, state: j.state };
      const handler = HANDLERS[j.state];
      if (!handler) throw new OutpostError('E_JOURNAL_STATE', `no handler for ${j.state}`);
      const controller = new AbortController();
      this.controller = controller;
      if (this.requested) controller.abort(this.requested);
      let error: ErrorInfo | null = null;
      const ctx = this.context(() => j, (nj) => (j = nj), source, log, (e) => (error = e), controller.signal);
      let event: Event;
      try {
        event = await handler(ctx, controller.signal);
      } catch (err) {
        if (controller.signal.aborted) {
          if (controller.signal.reason === 'shutdown') return { kind: 'stopped', id: j.id, state: j.state };
          event = 'aborted';
          error = { code: 'E_CANCELLED', message: 'deployment cancelled' };
        } else {
          event = 'failed';
          const coded = isOutpostError(err) ? err : stateWriteErrno(err) ? stateWriteError(err, 'a state file') : null;
          error = { code: coded?.code ?? 'E_INTERNAL', message: coded?.message ?? (err as Error).message ?? String(err) };
          log.error('step failed', { state: j.state, code: error.code, error: error.message });
        }
      } finally {
        this.controller = null;
      }
      const to = next(j.state, event);
      log.info('transition', { from: j.state, event, to });
      // A step that failed because the disk refused a write has had its retries.
      const retried = event === 'failed' && (error?.code === 'E_STATE_NO_SPACE' || error?.code === 'E_STATE_WRITE');
      j = await this.persist(j, event, to, error ?? j.error, log, retried);
    }
  }

  /**
   * Writes the journal in `state` before its handler may run. A state the save counter refuses
   * follows its `exhausted` row instead (E_UPDATE_LOOP), until a state is allowed.
   */
  private async persist(j: Journal, via: Event | 'resume', state: State, error: ErrorInfo | null, log: Logger, retried = false): Promise<Journal> {
    let to = state;
    let err = error;
    let from: From = j.state;
    let how = via;
    const visits = { ...j.visits };
    for (;;) {
      if (isTerminal(to) || !countsAsVisit(j.state, to)) break;
      const n = (visits[to] ?? 0) + 1;
      if (n <= this.deps.maxStateEntries) {
        visits[to] = n;
        break;
      }
      err = { code: 'E_UPDATE_LOOP', message: `state ${to} entered ${n} times; giving up on this deployment` };
      // After arming a deployment never just ends: a revert that keeps failing parks and blocks
      // new deployments (the next one would overwrite the only committed slot).
      from = to;
      how = 'exhausted';
      to = tableRow(to, 'exhausted');
    }
    const nj: Journal = {
      ...j, state: to, visits, error: err, updatedAt: new Date(this.deps.now()).toISOString(),
      // This boot's attempts are spent: a pending revert gets its next allowance in a new boot.
      ...(to === 'revert_pending' ? { revertRetryBoot: await currentBootId(this.deps) } : {}),
    };
    if (this.degraded) {
      // Ending a deployment whose journal the disk refused: never on to anything but the end.
      if (to !== 'abandoning' && to !== 'failed') throw new OutpostError('E_JOURNAL_STATE', `${to} needs a written journal`);
      this.unwritten = nj;
      await this.flush();
    } else {
      try {
        await this.writeJournal(nj, log, retried);
      } catch (e) {
        return await this.writeFailed(j, e, error, log);
      }
    }
    this.emit({ type: 'state', id: nj.id, state: to, error: err, from, via: how });
    return nj;
  }

  /** A journal write retried while the disk is full or errs; a cancel or shutdown ends the retries. */
  private async writeJournal(nj: Journal, log: Logger, retried: boolean): Promise<void> {
    const ac = new AbortController();
    this.controller = ac;
    if (this.requested) ac.abort(this.requested);
    try {
      await retryStateWrite('the deployment journal', () => this.store.write(nj), { log, signal: ac.signal, delays: retried ? [] : this.deps.stateWriteRetryMs ?? STATE_WRITE_RETRY_MS });
    } finally {
      this.controller = null;
    }
  }

  /**
   * The journal could not be written even after retries. Before arming the deployment ends
   * (`state_write_failed`: abandoning, then failed) with the journal kept in memory until the
   * disk takes it (flush), so the update service is free again. After arming the drive stops:
   * the journal on disk names a state whose handler is safe to run again at the next start.
   */
  private async writeFailed(j: Journal, err: unknown, reason: ErrorInfo | null, log: Logger): Promise<Journal> {
    if (stateWriteErrno(err) === null) throw err;
    const coded = stateWriteError(err, 'the deployment journal');
    if ((j.state as From) === NONE) throw coded; // nothing was written: the start fails with the code
    if (this.requested === 'shutdown') throw new Stop(j.state);
    const to = row(j.state, 'state_write_failed');
    if (to === null) {
      log.error('cannot write the journal after arming; stopping here, the next start resumes it', { state: j.state, code: coded.code, error: coded.message });
      throw new Stop(j.state);
    }
    // A cancel stays a cancel; otherwise the outcome says the state disk refused the write.
    const error: ErrorInfo = this.requested === 'cancel' || reason?.code === 'E_CANCELLED' ? { code: 'E_CANCELLED', message: 'deployment cancelled' } : { code: coded.code, message: coded.message };
    log.error('cannot write the journal; ending the deployment before arming', { state: j.state, to, code: coded.code, error: coded.message });
    this.degraded = true;
    const nj: Journal = { ...j, state: to, error, updatedAt: new Date(this.deps.now()).toISOString() };
    this.unwritten = nj;
    // The room set aside at start takes the end of this deployment even while the disk stays full.
    if (await releaseSpaceReserve(this.deps.dir)) await this.flush();
    this.emit({ type: 'state', id: nj.id, state: to, error, from: j.state, via: 'state_write_failed' });
    return nj;
  }

  private context(
    get: () => Journal,
    set: (j: Journal) => void,
    source: BundleSource | null,
    log: Logger,
    setError: (e: ErrorInfo) => void,
    signal: AbortSignal,
  ): HandlerContext {
    const self = this;
    let last = { done: 0, total: 0 };
    let transfer: TransferRecord | null = null;
    return {
      deps: this.deps,
      get journal() {
        return get();
      },
      log,
      source,
      async save(patch) {
        const nj = { ...get(), ...patch, updatedAt: new Date(self.deps.now()).toISOString() };
        await retryStateWrite('the deployment journal', () => self.store.write(nj), { log, signal, delays: self.deps.stateWriteRetryMs ?? STATE_WRITE_RETRY_MS });
        set(nj);
      },
      setError,
      progress: (done, total) => {
        last = { done, total };
        this.emit({ type: 'progress', id: get().id, done, total, ...(transfer ? { transfer } : {}) });
      },
      transfer: (t) => {
        transfer = t;
        this.emit({ type: 'progress', id: get().id, done: last.done, total: last.total, transfer: t });
      },
    };
  }

  private async finish(j: Journal, outcome: Outcome, log: Logger): Promise<RunResult> {
    const record = {
      id: j.id,
      outcome,
      error: outcome === 'committed' ? null : j.error,
      origin: j.origin,
      target: j.target,
      previous: j.previous,
      version: j.bundle?.version ?? null,
      release: j.bundle?.release ?? null,
      startedAt: j.startedAt,
      finishedAt: j.updatedAt,
      log: deploymentLogPath(this.deps.dir, j.id),
    };
    // The record is for reports and status; the journal is what counts. A full disk loses it.
    await writeJsonAtomic(join(this.deps.dir, 'deployments', `${j.id}.json`), record).catch((err) => {
      if (stateWriteErrno(err) === null) throw err;
      log.warn('cannot write the deployment record', { err });
    });
    log.info('deployment finished', { outcome, code: record.error?.code });
    const logLines = readDeploymentLog(this.deps.dir, j.id);
    await pruneDeploymentRecords(this.deps.dir, j.id).catch((err) => this.deps.logger.warn('cannot prune old deployment records', { err }));
    this.emit({ type: 'outcome', id: j.id, outcome, error: record.error, version: record.version, log: logLines });
    return { kind: 'outcome', id: j.id, outcome, error: record.error };
  }

  private emit(e: UpdateEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.deps.logger.warn('update listener threw', { error: err });
      }
    }
  }
}

export { resumeState };

/** Ends a drive where the journal on disk resumes it (shutdown, or a journal that cannot be written after arming). */
class Stop extends Error {
  readonly state: State;
  constructor(state: State) {
    super(`stopped in ${state}`);
    this.state = state;
  }
}

/** The table's row, or E_JOURNAL_STATE: the service and the runner never pick a state themselves. */
function tableRow(from: From, event: Event): State {
  const to = row(from, event);
  if (to === null) throw new OutpostError('E_JOURNAL_STATE', `no transition from ${from} on ${event}`);
  return to;
}
