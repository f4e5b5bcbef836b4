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
import { countsAsVisit, isParked, isTerminal, next, resumeState, safeState, type Event, type Outcome, type State } from './machine.ts';
import { HANDLERS } from './handlers/index.ts';
import { captureLogger, deploymentLogPath, readDeploymentLog } from './deployment-log.ts';
import { currentBootId } from './boot-id.ts';
import { writeJsonAtomic } from '../lib/atomic-file.ts';
import { pruneDeploymentRecords } from './state-space.ts';
import { AgentError, isAgentError } from '../lib/errors.ts';

export type UpdateEvent =
  | { type: 'state'; id: string; state: State; error: ErrorInfo | null }
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

  /** The deployment whose step runs in this process now, if any. */
  get activeId(): string | null {
    return this.active;
  }

  /** Cancels deployment `id`: its running step now, or its next step in this process. */
  cancel(id: string): void {
    if (this.active === id) this.abort('cancel');
    else this.cancelled = id;
  }

  /** Persists `state` (save counter applied) and drives from there. */
  async enter(journal: Journal, state: State, source: BundleSource | null, error: ErrorInfo | null = null): Promise<RunResult> {
    if (this.running) throw new AgentError('E_UPDATE_BUSY', 'a deployment step is already running in this process');
    this.running = true;
    this.active = journal.id;
    if (this.cancelled === journal.id) this.requested = 'cancel';
    this.cancelled = null;
    try {
      const j = await this.persist(journal, state, error);
      return await this.drive(j, source);
    } finally {
      this.running = false;
      this.active = null;
      this.requested = null;
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
      if (!handler) throw new AgentError('E_JOURNAL_STATE', `no handler for ${j.state}`);
      const controller = new AbortController();
      this.controller = controller;
      if (this.requested) controller.abort(this.requested);
      let error: ErrorInfo | null = null;
      const ctx = this.context(() => j, (nj) => (j = nj), source, log, (e) => (error = e));
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
          error = { code: isAgentError(err) ? err.code : 'E_INTERNAL', message: (err as Error).message ?? String(err) };
          log.error('step failed', { state: j.state, code: error.code, error: error.message });
        }
      } finally {
        this.controller = null;
      }
      const to = next(j.state, event);
      log.info('transition', { from: j.state, event, to });
      j = await this.persist(j, to, error ?? j.error);
    }
  }

  /** Writes the journal in `state` before its handler may run; a state visited too often fails. */
  private async persist(j: Journal, state: State, error: ErrorInfo | null): Promise<Journal> {
    let to = state;
    let err = error;
    const visits = { ...j.visits };
    for (;;) {
      if (isTerminal(to) || !countsAsVisit(j.state, to)) break;
      const n = (visits[to] ?? 0) + 1;
      if (n <= this.deps.maxStateEntries) {
        visits[to] = n;
        break;
      }
      err = { code: 'E_UPDATE_LOOP', message: `state ${to} entered ${n} times; giving up on this deployment` };
      const safe = safeState(to);
      if (safe !== to && (visits[safe] ?? 0) < this.deps.maxStateEntries) to = safe;
      // After arming a deployment never just ends: a revert that keeps failing parks and blocks
      // new deployments (the next one would overwrite the only committed slot).
      else to = safe === 'reverting' ? 'revert_pending' : 'failed';
    }
    const nj: Journal = {
      ...j, state: to, visits, error: err, updatedAt: new Date(this.deps.now()).toISOString(),
      // This boot's attempts are spent: a pending revert gets its next allowance in a new boot.
      ...(to === 'revert_pending' ? { revertRetryBoot: await currentBootId(this.deps) } : {}),
    };
    await this.store.write(nj);
    this.emit({ type: 'state', id: nj.id, state: to, error: err });
    return nj;
  }

  private context(
    get: () => Journal,
    set: (j: Journal) => void,
    source: BundleSource | null,
    log: Logger,
    setError: (e: ErrorInfo) => void,
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
        await self.store.write(nj);
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
    await writeJsonAtomic(join(this.deps.dir, 'deployments', `${j.id}.json`), record);
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
