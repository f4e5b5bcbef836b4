// What every start checks before it trusts the boot environment: are both env copies intact
// (a damaged one is rewritten from the good one), and does the env still hold the last commit
// the journal recorded (a lost commit is marked again, or reported loudly when it cannot be).
// The findings are kept in update/startup-check.json so `outpost status`, the inventory and the
// logs all tell the same story.
import { join } from 'node:path';
import type { BootControl, SlotName } from '../platform/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Journal } from './journal.ts';
import { readJson, writeJsonAtomic } from '../lib/atomic-file.ts';
import { isOutpostError } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

export interface BootEnvCheck {
  readonly at: string;
  readonly copies: number;
  /** Copies found damaged at this start (0-based). */
  readonly damaged: readonly number[];
  /** Copies rewritten from the good one at this start. */
  readonly repaired: readonly number[];
  /** The env could not be checked or repaired: its error. */
  readonly error: { code: ErrorCode; message: string } | null;
}

export interface ReconcileNote {
  readonly at: string;
  readonly deployment: string;
  /** E_BOOTENV_COMMIT_LOST (the env lost the commit) or E_BOOTLOADER_FALLBACK (the committed slot stopped booting). */
  readonly code: ErrorCode;
  readonly message: string;
  /** 'remarked': the committed slot was marked good and primary again; 'none': left for an operator. */
  readonly action: 'remarked' | 'none';
}

export interface StartupCheck {
  /** This start's env check (null: the env cannot be checked). */
  readonly bootEnv: BootEnvCheck | null;
  /** The most recent start that found a damaged copy (kept until another does). */
  readonly lastDamage: BootEnvCheck | null;
  /** This start's reconcile finding (null: the env agrees with the journal). */
  readonly reconcile: ReconcileNote | null;
}

/** An operator's deliberate slot choice after a deployment (`outpost rollback` / `commit`): reconcile leaves it alone. */
export interface OperatorChoice {
  readonly deployment: string;
  readonly slot: SlotName;
  readonly at: string;
}

const FILE = 'startup-check.json';
const CHOICE_FILE = 'operator-choice.json';

const asObject = <T>(v: unknown): T => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object');
  return v as T;
};

export async function readStartupCheck(dir: string): Promise<StartupCheck | null> {
  const r = await readJson(join(dir, FILE), asObject<StartupCheck>).catch(() => null);
  return r?.kind === 'ok' ? r.value : null;
}

export async function recordOperatorChoice(dir: string, choice: OperatorChoice): Promise<void> {
  await writeJsonAtomic(join(dir, CHOICE_FILE), choice);
}

async function operatorChoice(dir: string): Promise<OperatorChoice | null> {
  const r = await readJson(join(dir, CHOICE_FILE), asObject<OperatorChoice>).catch(() => null);
  return r?.kind === 'ok' ? r.value : null;
}

function errorInfo(err: unknown): { code: ErrorCode; message: string } {
  return { code: isOutpostError(err) ? err.code : 'E_BOOTENV_IO', message: (err as Error).message };
}

/** Checks the env copies and repairs a damaged one from the good one. Never throws. */
export async function checkBootEnv(bc: BootControl, log: Logger, now: () => number): Promise<BootEnvCheck | null> {
  if (!bc.envHealth) return null;
  const at = new Date(now()).toISOString();
  try {
    const h = await bc.envHealth();
    if (h.damaged.length === 0) return { at, copies: h.copies, damaged: [], repaired: [], error: null };
    log.error('boot environment copy damaged', { copies: h.copies, damaged: h.damaged, current: h.current });
    let repaired: number[] = [];
    let error = null;
    try {
      repaired = (await bc.repairEnv?.()) ?? [];
    } catch (err) {
      error = errorInfo(err);
    }
    if (repaired.length > 0) log.warn('boot environment copy repaired from the good one', { repaired });
    else log.error('boot environment copy could not be repaired', { damaged: h.damaged, error });
    return { at, copies: h.copies, damaged: [...h.damaged], repaired, error };
  } catch (err) {
    log.error('boot environment cannot be checked', { error: err });
    return { at, copies: 0, damaged: [], repaired: [], error: errorInfo(err) };
  }
}

export interface ReconcileParts {
  readonly dir: string;
  readonly bootControl: BootControl;
  readonly booted: SlotName | null;
  /** Throws unless the slot still holds its recorded, verified install. */
  readonly verifyRecorded: (slot: SlotName) => Promise<void>;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * A committed deployment whose slot is not good and primary: the env lost the commit. When that
 * slot is running and still holds what was verified, mark it good again; otherwise say so loudly
 * (the node runs the other slot; nothing is rebooted behind anyone's back).
 */
export async function reconcileCommitted(j: Journal, p: ReconcileParts): Promise<ReconcileNote | null> {
  if (j.state !== 'committed' || p.booted === null) return null;
  if ((await operatorChoice(p.dir))?.deployment === j.id) return null;
  const states = await p.bootControl.slots();
  const primary = await p.bootControl.primary();
  const good = states.find((s) => s.name === j.target)?.good ?? false;
  if (good && primary === j.target && p.booted === j.target) return null;
  const at = new Date(p.now()).toISOString();
  if (p.booted === j.target) {
    try {
      await p.verifyRecorded(j.target);
      await p.bootControl.markGood(j.target);
      const message = `deployment ${j.id} committed slot ${j.target}, but the boot environment no longer held it as good and primary; marked it again`;
      p.log.error('the boot environment had lost a commit; marked the committed slot good again', { deployment: j.id, slot: j.target });
      return { at, deployment: j.id, code: 'E_BOOTENV_COMMIT_LOST', message, action: 'remarked' };
    } catch (err) {
      const message = `deployment ${j.id} committed slot ${j.target}, the boot environment lost it and it cannot be marked again: ${(err as Error).message}`;
      p.log.error('the boot environment lost a commit that cannot be restored', { deployment: j.id, slot: j.target, error: err });
      return { at, deployment: j.id, code: 'E_BOOTENV_COMMIT_LOST', message, action: 'none' };
    }
  }
  const code = good ? 'E_BOOTLOADER_FALLBACK' : 'E_BOOTENV_COMMIT_LOST';
  const message = good
    ? `deployment ${j.id} committed slot ${j.target}, but ${p.booted} runs: the committed slot stopped booting and the bootloader fell back`
    : `deployment ${j.id} committed slot ${j.target}, but ${p.booted} runs and the boot environment no longer marks ${j.target} good: the commit was lost`;
  p.log.error('the running slot is not the committed one', { deployment: j.id, committed: j.target, running: p.booted, code });
  return { at, deployment: j.id, code, message, action: 'none' };
}

/** Stores this start's findings (keeping the last damage seen) and returns them. */
export async function saveStartupCheck(dir: string, bootEnv: BootEnvCheck | null, reconcile: ReconcileNote | null): Promise<StartupCheck> {
  const before = await readStartupCheck(dir);
  const damaged = bootEnv !== null && (bootEnv.damaged.length > 0 || bootEnv.error !== null);
  const check: StartupCheck = { bootEnv, lastDamage: damaged ? bootEnv : (before?.lastDamage ?? null), reconcile };
  await writeJsonAtomic(join(dir, FILE), check);
  return check;
}
