// Before the reboot: prepare → (write: write.ts, marks the target bad once the bundle's head
// is verified) → record (read back only if another process wrote it) → arm.
import type { Handler, HandlerContext } from './context.ts';
import { targetSlot } from './context.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { setSlotRecord } from '../slot-records.ts';
import { takeWrittenHere } from './written-here.ts';
import { retryStateWrite, STATE_WRITE_RETRY_MS } from '../state-writes.ts';

export const preparing: Handler = async (ctx, signal) => {
  signal.throwIfAborted();
  const running = await checkTargetNotRunning(ctx);
  // A committed target while the running slot is not committed (a trial boot whose revert did
  // not finish): the target is the only committed slot, never overwrite it.
  const states = await ctx.deps.bootControl.slots();
  const good = (s: string) => states.find((x) => x.name === s)?.good ?? false;
  if (good(ctx.journal.target) && !good(running)) {
    throw new OutpostError('E_RUNNING_UNCOMMITTED', `running slot ${running} is not committed and ${ctx.journal.target} is the only committed slot; commit or roll back first`);
  }
  return 'prepared';
};

/** Never overwrite what is running, whatever the journal says (checked at each (re)start of a write). */
export async function checkTargetNotRunning(ctx: HandlerContext): Promise<string> {
  const running = await ctx.deps.bootedSlot.booted();
  if (running === null) throw new OutpostError('E_BOOTED_SLOT', 'cannot tell which slot is running');
  if (running === ctx.journal.target) {
    throw new OutpostError('E_TARGET_RUNNING', `target slot ${ctx.journal.target} is the running slot`);
  }
  return running;
}

/**
 * Called once the bundle's signatures, floor and compatibility are verified and before its
 * first block is written: an unsigned or foreign bundle never costs the node its fallback slot.
 */
export async function markTargetBad(ctx: HandlerContext): Promise<void> {
  await ctx.deps.bootControl.markBad(ctx.journal.target);
  // Its old content is about to go: never report it as installed again.
  await setSlotRecord(ctx.deps.dir, ctx.journal.target, null);
  ctx.log.info('target slot marked bad', { slot: ctx.journal.target });
}

export const verifying: Handler = async (ctx, signal) => {
  signal.throwIfAborted();
  const b = ctx.journal.bundle;
  if (!b) throw new OutpostError('E_JOURNAL_STATE', 'verifying without bundle facts');
  const slot = targetSlot(ctx);
  if (takeWrittenHere(ctx)) {
    // Every block was verified before it was written and fsynced; see written-here.ts for why
    // no read-back follows here.
    ctx.log.info('slot written; its medium is checked after the reboot, before commit', { slot: slot.name });
  } else {
    const got = await slot.digest(b.payload.size, signal);
    if (got !== b.payload.sha256) {
      throw new OutpostError('E_SLOT_DIGEST', `slot ${slot.name} read back ${got}, expected ${b.payload.sha256}`);
    }
    ctx.log.info('slot read back and verified', { slot: slot.name, sha256: got });
  }
  const record = {
    version: b.version,
    release: b.release,
    sha256: b.payload.sha256,
    size: b.payload.size,
    installedAt: new Date(ctx.deps.now()).toISOString(),
    deployment: ctx.journal.id,
  };
  await retryStateWrite('the slot record', () => setSlotRecord(ctx.deps.dir, slot.name, record), { log: ctx.log, signal, delays: ctx.deps.stateWriteRetryMs ?? STATE_WRITE_RETRY_MS });
  return 'verified';
};

export const arming: Handler = async (ctx, signal) => {
  signal.throwIfAborted();
  await ctx.deps.bootControl.arm(ctx.journal.target, ctx.deps.tries);
  ctx.log.info('bootloader armed', { slot: ctx.journal.target, tries: ctx.deps.tries });
  return 'armed';
};
