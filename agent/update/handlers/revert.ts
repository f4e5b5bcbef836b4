// The way back. Idempotent, so the resume table can send any surprise here.
import type { Handler } from './context.ts';

export const reverting: Handler = async (ctx) => {
  // Not abortable: once started, leaving the target armed would be worse than finishing.
  const { target, previous } = ctx.journal;
  await ctx.deps.bootControl.markBad(target);
  const running = await ctx.deps.bootedSlot.booted();
  if (running === target) {
    ctx.log.warn('target marked bad; rebooting back to the old slot', { target, previous });
    return 'reboot_needed';
  }
  ctx.log.info('rolled back', { running, target });
  return 'reverted';
};

export const rollbackRebooting: Handler = async (ctx) => {
  await ctx.deps.rebooter.reboot(`outpost deployment ${ctx.journal.id}: back to ${ctx.journal.previous}`);
  return 'reboot_requested';
};

export const abandoning: Handler = async (ctx) => {
  // Before arming the old slot was never at risk. A target that received blocks stays
  // unbootable; one whose bundle was refused before any block (bad signature, floor, wrong
  // board) keeps whatever it was, so a bogus offer never costs the node its fallback.
  // The running slot is never marked bad here (a journal naming it as target is wrong, see E_TARGET_RUNNING).
  const touched = ctx.journal.bundle !== null && (await ctx.deps.bootedSlot.booted()) !== ctx.journal.target;
  if (touched) await ctx.deps.bootControl.markBad(ctx.journal.target);
  ctx.log.info('deployment abandoned before arming', { target: ctx.journal.target, touched });
  return 'abandoned';
};
