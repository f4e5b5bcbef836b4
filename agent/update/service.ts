// The update service other parts call (CLI, daemon, hub session): start a deployment from a
// BundleSource, resume after boot, cancel, status, subscribe, operator commit/rollback.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlotName } from '../platform/types.ts';
import type { BundleSource } from '../bundle/source.ts';
import type { UpdateDeps } from './ports.ts';
import type { ErrorInfo, Journal, TransferRecord } from './journal.ts';
import { outcomeOf } from './journal.ts';
import { Runner, type RunResult, type UpdateEvent } from './runner.ts';
import { isBeforeArming, resumeState, statesWith, type State } from './machine.ts';
import { readSlotRecords, type SlotRecord } from './slot-records.ts';
import { readDeploymentLog } from './deployment-log.ts';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';
import { acquireLock, type ProcessLock } from '../lib/process-lock.ts';
import { currentBootId } from './boot-id.ts';
import { checkBootEnv, readStartupCheck, reconcileCommitted, recordOperatorChoice, saveStartupCheck, type BootEnvCheck, type ReconcileNote } from './startup-check.ts';
import type { EnvHealth } from '../platform/types.ts';
import { checkStateSpace, setSpaceReserve, STATE_HEADROOM_BYTES } from './state-space.ts';
import { stateWriteErrno, stateWriteError } from './state-writes.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

export interface SlotStatus {
  name: SlotName;
  slotClass: string;
  path: string;
  booted: boolean;
  primary: boolean;
  good: boolean;
  triesLeft: number;
  installed: SlotRecord | null;
}

export interface DeploymentStatus {
  id: string;
  state: State;
  outcome: 'committed' | 'rolled_back' | 'failed' | null;
  error: { code: ErrorCode; message: string } | null;
  origin: string;
  target: string;
  previous: string;
  version: string | null;
  release: number | null;
  blocksWritten: number | null;
  blocks: number | null;
  /** Full or delta download, bytes planned, fetched and taken from local slots (all attempts). */
  transfer: TransferRecord | null;
}

export interface UpdateStatus {
  booted: SlotName | null;
  primary: SlotName | null;
  slots: SlotStatus[];
  deployment: DeploymentStatus | null;
  /** Set when the journal was unreadable and set aside at this start. */
  journalProblem: string | null;
  /** The boot environment's copies now, and what the last start found and repaired. */
  bootEnv: { now: EnvHealth | null; lastStart: BootEnvCheck | null; lastDamage: BootEnvCheck | null } | null;
  /** The last start found the env disagreeing with the last commit (see startup-check.ts). */
  reconcile: ReconcileNote | null;
}

export interface UpdateService {
  /**
   * Starts a deployment. With an `id` (a hub's deployment id) a repeated start of the deployment
   * in the journal returns where it is instead of starting it again (idempotent offers).
   */
  start(source: BundleSource, opts?: { id?: string }): Promise<RunResult>;
  /** Call once at start-up (daemon) or via `outpost install --resume`: continues or rolls back. */
  resumeAfterBoot(): Promise<RunResult | null>;
  /** Aborts the running step, whatever its deployment (pre-arm: abandon; post-arm: revert). */
  cancel(): void;
  /**
   * Cancels deployment `id` while it is before arming: its running (or next) step in this process
   * is aborted, or, when no process drives it (a download stopped by a window close or an
   * interrupted `outpost install`), it is abandoned here. False: no such deployment in progress.
   * Throws E_CANCEL_TOO_LATE from arming on, E_UPDATE_BUSY while another process drives it.
   */
  cancelDeployment(id: string): Promise<boolean>;
  /** Shutdown: stops the running step; the journal keeps it for the next start. */
  stop(): void;
  status(): Promise<UpdateStatus>;
  subscribe(listener: (e: UpdateEvent) => void): () => void;
  /** Operator commit of the running slot (skips health checks). */
  commit(): Promise<RunResult | null>;
  /** Operator rollback: revert the current deployment, or switch to the other good slot and reboot. */
  rollback(): Promise<RunResult | null>;
  /** Captured log lines of a deployment (JSON lines) for the hub report. */
  deploymentLog(id: string): string[];
  /**
   * Throws E_STATE_NO_SPACE (retryable) when a new deployment could not write its state: the
   * disk still refuses the journal of one that ended on a full disk, or has too little room.
   */
  checkRoom(): Promise<void>;
}

// States of a trial boot of the target (awaiting_boot only once the target actually runs): the
// table's rows for an operator commit.
const TRIAL: readonly State[] = statesWith('operator_commit');

export function createUpdateService(deps: UpdateDeps): UpdateService {
  const runner = new Runner(deps);
  let journalProblem: string | null = null;

  /** The journal; a corrupt one is replaced by a recovery journal (`recovered`) that rolls back. */
  const current = async (): Promise<{ j: Journal; recovered: boolean } | null> => {
    // A deployment that ended while the disk refused its journal: that end is the truth.
    await runner.flush();
    if (runner.pending) return { j: runner.pending, recovered: false };
    const r = await runner.store.read(deps.now);
    if (r.kind === 'ok') return { j: r.value, recovered: false };
    if (r.kind === 'corrupt') {
      journalProblem = `journal set aside to ${r.setAsideTo}: ${r.reason}`;
      return recover(r.setAsideTo, r.reason);
    }
    return null;
  };

  // A journal we cannot trust: what we know is which slot runs, which slots are committed and
  // whether a committed slot still holds its recorded install. Only a slot we can prove is
  // committed and intact is a place to go back to; never revert onto anything less.
  const recover = async (setAsideTo: string, reason: string): Promise<{ j: Journal; recovered: boolean }> => {
    const booted = await requireBooted();
    const states = await deps.bootControl.slots();
    const other = otherSlot(booted);
    const runningGood = states.find((s) => s.name === booted)?.good ?? false;
    const otherGood = (states.find((s) => s.name === other)?.good ?? false) && (await verifyRecorded(other).then(() => true, () => false));
    // running committed: a not-committed (or no longer intact) other slot is marked bad, nothing else;
    // running on trial and a verified committed other: revert the running slot (reboot back);
    // otherwise there is nothing safe to undo: record it and leave the boot env as it is.
    const revert: 'other' | 'running' | null = runningGood ? (otherGood ? null : 'other') : otherGood ? 'running' : null;
    const target = revert === 'running' ? booted : other;
    const previous = revert === 'running' ? other : booted;
    const error: ErrorInfo = { code: 'E_JOURNAL_CORRUPT', message: `journal unreadable (${reason}); set aside to ${setAsideTo}` };
    deps.logger.error('journal corrupt', { setAsideTo, reason, revert, target });
    const j = await runner.recover({ origin: 'unknown (journal corrupt)', target, previous }, revert ? 'recovered_revert' : 'recovered_nothing', error);
    return { j, recovered: true };
  };

  const requireBooted = async (): Promise<SlotName> => {
    const b = await deps.bootedSlot.booted();
    if (!b) throw new OutpostError('E_BOOTED_SLOT', 'cannot tell which slot is running (check update.bootedSlot)');
    return b;
  };

  const otherSlot = (booted: SlotName): SlotName => {
    const me = deps.slots.find((s) => s.name === booted);
    if (!me) throw new OutpostError('E_SLOT_UNKNOWN', `booted slot ${booted} is not configured`);
    const other = deps.slots.find((s) => s.slotClass === me.slotClass && s.name !== booted);
    if (!other) throw new OutpostError('E_SLOT_UNKNOWN', `no other ${me.slotClass} slot besides ${booted}`);
    return other.name;
  };

  // One process at a time drives a deployment or touches the boot env (daemon vs CLI).
  const lockPath = join(deps.dir, 'lock');
  // Within this process calls queue (an offer arriving while the daemon's start-up resume runs
  // waits for it); only another process gets E_UPDATE_BUSY.
  let queue: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    inFlight++;
    const run = queue.then(() => lockedAcrossProcesses(fn)).finally(() => inFlight--);
    queue = run.catch(() => {});
    return run;
  };
  const lockedAcrossProcesses = async <T>(fn: () => Promise<T>): Promise<T> => {
    await mkdir(deps.dir, { recursive: true });
    let lock: ProcessLock;
    try {
      lock = await acquireLock(lockPath, 'the update service');
    } catch (err) {
      // A full state disk cannot even take the lock file: say so with the disk's code.
      if (stateWriteErrno(err)) throw stateWriteError(err, 'the update lock');
      if (!isOutpostError(err, 'E_UPDATE_BUSY')) throw err;
      throw new OutpostError('E_UPDATE_BUSY', `${err.message}; if that is the daemon (outpost run): use the hub, or stop the service for an on-site install`, { cause: err, retryable: true });
    }
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  };

  return {
    start: (source, opts = {}) => locked(async () => {
      if (opts.id !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(opts.id)) throw new OutpostError('E_UPDATE_ID', `bad deployment id ${JSON.stringify(opts.id)}`);
      const c = await current();
      if (c?.recovered) throw new OutpostError('E_UPDATE_BUSY', 'the journal was corrupt; run `outpost install --resume` to roll back first');
      const j = c?.j;
      if (j && opts.id !== undefined && j.id === opts.id) {
        const outcome = outcomeOf(j);
        return outcome ? { kind: 'outcome', id: j.id, outcome, error: outcome === 'committed' ? null : j.error } : { kind: 'in_progress', id: j.id, state: j.state };
      }
      if (j?.state === 'revert_pending') throw new OutpostError('E_UPDATE_BUSY', `deployment ${j.id} could not be reverted (${j.error?.code ?? 'unknown'}); it is retried at the next start, or run \`outpost rollback\``);
      if (j && !outcomeOf(j)) throw new OutpostError('E_UPDATE_BUSY', `deployment ${j.id} is in progress (${j.state}); resume or roll it back first`);
      const booted = await requireBooted();
      // Refused before anything is journalled: a deployment that cannot write its state must not start.
      await checkRoom();
      await setSpaceReserve(deps.dir);
      return runner.start({ origin: source.origin, target: otherSlot(booted), previous: booted, pin: source.pin ?? null }, source, opts.id);
    }),

    resumeAfterBoot: () => locked(async () => {
      // Before anything reads the env to decide: a damaged copy is repaired from the good one.
      const envCheck = await checkBootEnv(deps.bootControl, deps.logger, deps.now);
      const c = await current();
      let result: RunResult | null = null;
      if (c && !outcomeOf(c.j)) await setSpaceReserve(deps.dir);
      if (c?.recovered) result = await runner.resume(c.j, null, c.j.error);
      else if (c && !outcomeOf(c.j)) {
        deps.logger.info('resuming deployment', { deployment: c.j.id, found: c.j.state, to: resumeState(c.j.state) });
        result = await runner.resume(await retryAllowance(c.j), deps.sourceFor(c.j.origin), c.j.error);
      }
      let reconcile: ReconcileNote | null = null;
      if (result === null || result.kind === 'outcome') {
        const last = await runner.store.peek();
        if (last.kind === 'ok') {
          reconcile = await reconcileCommitted(last.value, {
            dir: deps.dir, bootControl: deps.bootControl, booted: await deps.bootedSlot.booted(), verifyRecorded, log: deps.logger, now: deps.now,
          });
        }
        await confirmBoot();
      }
      await saveStartupCheck(deps.dir, envCheck, reconcile).catch((err) => deps.logger.error('cannot record the start-up check', { err }));
      return result;
    }),

    cancel: () => runner.abort('cancel'),

    async cancelDeployment(id) {
      const peek = runner.pending ? { kind: 'ok' as const, value: runner.pending } : await runner.store.peek();
      const j = peek.kind === 'ok' && peek.value.id === id && !outcomeOf(peek.value) ? peek.value : null;
      if (j && !isBeforeArming(j.state)) throw tooLate(id, j.state);
      // This process drives it, or is about to (a start or resume waiting in the queue).
      if (runner.activeId === id || inFlight > 0) {
        runner.cancel(id);
        return true;
      }
      if (!j) return false;
      // Nobody drives it: abandon it here (another process holding the lock answers E_UPDATE_BUSY).
      return locked(async () => {
        const c = await current();
        const now = c && !c.recovered && c.j.id === id && !outcomeOf(c.j) ? c.j : null;
        if (!now) return false;
        if (!isBeforeArming(now.state)) throw tooLate(id, now.state);
        deps.logger.info('cancelling a deployment no process drives', { deployment: id, state: now.state });
        await runner.apply(now, 'cancelled', null, { code: 'E_CANCELLED', message: 'deployment cancelled' });
        return true;
      });
    },
    stop: () => runner.abort('shutdown'),
    subscribe: (l) => runner.subscribe(l),

    async status() {
      const r = runner.pending ? { kind: 'ok' as const, value: runner.pending } : await runner.store.peek();
      const problem = r.kind === 'corrupt' ? `journal corrupt (${r.reason}); the next resume sets it aside and rolls back` : journalProblem;
      const j = r.kind === 'ok' ? r.value : null;
      const [booted, primary, states, records, envNow, check] = await Promise.all([
        deps.bootedSlot.booted().catch(() => null),
        deps.bootControl.primary().catch(() => null),
        deps.bootControl.slots().catch(() => []),
        readSlotRecords(deps.dir),
        deps.bootControl.envHealth?.().catch(() => null) ?? null,
        readStartupCheck(deps.dir),
      ]);
      return {
        booted,
        primary,
        journalProblem: problem,
        bootEnv: deps.bootControl.envHealth ? { now: envNow, lastStart: check?.bootEnv ?? null, lastDamage: check?.lastDamage ?? null } : null,
        reconcile: check?.reconcile ?? null,
        slots: deps.slots.map((s) => {
          const st = states.find((x) => x.name === s.name);
          return {
            name: s.name,
            slotClass: s.slotClass,
            path: s.path,
            booted: s.name === booted,
            primary: s.name === primary,
            good: st?.good ?? false,
            triesLeft: st?.triesLeft ?? 0,
            installed: records[s.name] ?? null,
          };
        }),
        deployment: j && {
          id: j.id,
          state: j.state,
          outcome: outcomeOf(j),
          error: outcomeOf(j) === 'committed' ? null : j.error,
          origin: j.origin,
          target: j.target,
          previous: j.previous,
          version: j.bundle?.version ?? null,
          release: j.bundle?.release ?? null,
          blocksWritten: j.progress?.nextBlock ?? null,
          blocks: j.bundle?.payload.blocks ?? null,
          transfer: j.transfer ?? null,
        },
      };
    },

    commit: () => locked(async () => {
      const c = await current();
      if (c?.recovered) throw new OutpostError('E_UPDATE_BUSY', 'the journal was corrupt; run `outpost install --resume` to roll back first');
      const j = c?.j;
      const booted = await requireBooted();
      if (j && !outcomeOf(j)) {
        // Only the trial boot of the target may be accepted: never a slot on its way back.
        if (!TRIAL.includes(j.state)) throw new OutpostError('E_COMMIT_REFUSED', `deployment ${j.id} is in ${j.state}; only a trial boot of ${j.target} can be committed`);
        if (booted !== j.target) throw new OutpostError('E_BOOTED_SLOT', `deployment ${j.id} targets ${j.target} but ${booted} is running`);
        // The operator vouches for this boot in place of the health checks.
        return runner.apply({ ...j, healthyBoot: await currentBootId(deps) }, 'operator_commit', null, j.error);
      }
      const st = (await deps.bootControl.slots()).find((s) => s.name === booted);
      // The operator chose this slot after the last deployment: start-up reconcile leaves it be.
      if (j) await recordOperatorChoice(deps.dir, { deployment: j.id, slot: booted, at: new Date(deps.now()).toISOString() });
      if (st?.good) return null; // already committed
      await verifyRecorded(booted);
      await deps.bootControl.markGood(booted);
      return null;
    }),

    rollback: () => locked(async () => {
      const c = await current();
      if (c?.recovered) return runner.resume(c.j, null, c.j.error);
      const j = c?.j;
      if (j && !outcomeOf(j)) {
        const error: ErrorInfo = { code: 'E_OPERATOR_ROLLBACK', message: 'rolled back by the operator' };
        if (isBeforeArming(j.state)) return runner.apply(j, 'operator_rollback', null, error);
        // An operator retry of a revert gets a fresh allowance from the save counter.
        const visits = { ...j.visits, reverting: 0, rollback_rebooting: 0, awaiting_rollback_boot: 0 };
        return runner.apply({ ...j, visits }, 'operator_rollback', null, j.state === 'revert_pending' ? j.error : error);
      }
      // No deployment: switch to the other slot, but only to a committed one whose content we verified.
      const other = otherSlot(await requireBooted());
      const st = (await deps.bootControl.slots()).find((s) => s.name === other);
      if (!st?.good) throw new OutpostError('E_ROLLBACK_UNAVAILABLE', `slot ${other} is not marked good; nothing to roll back to`);
      await verifyRecorded(other);
      if (j) await recordOperatorChoice(deps.dir, { deployment: j.id, slot: other, at: new Date(deps.now()).toISOString() });
      await deps.bootControl.markGood(other);
      await deps.rebooter.reboot(`operator rollback to ${other}`);
      return null;
    }),

    deploymentLog: (id) => readDeploymentLog(deps.dir, id),
    checkRoom: () => checkRoom(),
  };

  async function checkRoom(): Promise<void> {
    if (!(await runner.flush())) {
      throw new OutpostError('E_STATE_NO_SPACE', `the state directory ${deps.dir} still refuses the journal of deployment ${runner.pending?.id}`, { retryable: true });
    }
    await checkStateSpace(deps.dir, STATE_HEADROOM_BYTES + deps.deploymentLogBytes);
  }

  // The bootloader counts down a committed slot on every boot too: a healthy start of a good
  // slot refills its tries (markGood), or a few plain reboots would make it fall back.
  /**
   * A pending revert gets a fresh save-counter allowance once per boot: the save counter stops a
   * loop within a boot, but a boot env that failed for a while (or a fallback by the bootloader)
   * must not leave the node stuck in revert_pending, refusing every offer, until someone is on site.
   */
  async function retryAllowance(j: Journal): Promise<Journal> {
    if (j.state !== 'revert_pending') return j;
    const boot = await currentBootId(deps);
    if (j.revertRetryBoot === boot) return j;
    return { ...j, revertRetryBoot: boot, visits: { ...j.visits, reverting: 0, rollback_rebooting: 0, awaiting_rollback_boot: 0 } };
  }

  async function confirmBoot(): Promise<void> {
    const booted = await deps.bootedSlot.booted();
    if (!booted) return;
    const states = await deps.bootControl.slots();
    const st = states.find((s) => s.name === booted);
    if (st?.good) return deps.bootControl.markGood(booted);
    // A factory node whose boot env commits nothing: the bootloader counts the running slot down
    // at every boot and nothing refills it, so after a few plain reboots it would fall over to an
    // empty slot. Adopt the running slot when it is provably not a trial boot: no deployment ever
    // ran here, or the last one ended and the node runs the slot it started from (a deployment
    // that ended was committed, rolled back to `previous`, or failed before arming). Never after
    // a corrupt journal: then nobody knows what the running slot is.
    if (states.some((s) => s.good)) return;
    const found = await runner.store.peek();
    const pristine = found.kind === 'missing' && (await listOutcomes(deps.dir)).length === 0;
    const backWhereItStarted =
      found.kind === 'ok' && outcomeOf(found.value) !== null && found.value.error?.code !== 'E_JOURNAL_CORRUPT' && found.value.previous === booted;
    if (!pristine && !backWhereItStarted) return;
    deps.logger.warn('no slot is committed and the running slot is not a trial boot: adopting it as committed', { slot: booted });
    await deps.bootControl.markGood(booted);
    // The other slots hold nothing this node ever verified: out of the boot order until an update
    // writes and verifies one (a power cut in between leaves them as they were: harmless).
    for (const s of states) if (s.name !== booted) await deps.bootControl.markBad(s.name);
  }

  async function verifyRecorded(slot: SlotName): Promise<void> {
    const rec = (await readSlotRecords(deps.dir))[slot];
    const dev = deps.slots.find((s) => s.name === slot);
    if (!rec || !dev) throw new OutpostError('E_SLOT_UNVERIFIED', `no verified install recorded for slot ${slot}`);
    if ((await dev.digest(rec.size)) !== rec.sha256) throw new OutpostError('E_SLOT_DIGEST', `slot ${slot} does not match its recorded install`);
  }
}

function tooLate(id: string, state: State): OutpostError {
  return new OutpostError('E_CANCEL_TOO_LATE', `deployment ${id} is in ${state}: past arming it can only be rolled back (outpost rollback)`);
}

/** Past deployments' outcome records, newest last (for reports and `status`). */
export async function listOutcomes(dir: string): Promise<unknown[]> {
  const d = join(dir, 'deployments');
  const names = (await readdir(d).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(d, n), 'utf8')) as unknown));
}
