// Reboot and what follows it: which slot came up, health checks, commit.
import type { Handler } from './context.ts';
import { targetSlot } from './context.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { currentBootId } from '../boot-id.ts';

export const rebooting: Handler = async (ctx, signal) => {
  signal.throwIfAborted();
  ctx.log.info('rebooting into the new slot', { slot: ctx.journal.target });
  await ctx.deps.rebooter.reboot(`outpost deployment ${ctx.journal.id}: trial boot of ${ctx.journal.target}`);
  return 'reboot_requested';
};

export const booted: Handler = async (ctx) => {
  const { target, previous } = ctx.journal;
  const running = await ctx.deps.bootedSlot.booted();
  if (running === target) {
    ctx.log.info('new slot booted', { slot: target });
    return 'booted_target';
  }
  if (running !== previous) throw new OutpostError('E_BOOTED_SLOT', `booted slot ${running ?? 'unknown'} is neither ${target} nor ${previous}`);
  const t = (await ctx.deps.bootControl.slots()).find((s) => s.name === target);
  const primary = await ctx.deps.bootControl.primary();
  if (primary === target && t !== undefined && t.triesLeft >= ctx.deps.tries) {
    // Armed with every try left, yet the old slot runs: the reboot never happened.
    ctx.log.warn('still on the old slot with the new one armed; rebooting again', { slot: previous });
    return 'reboot_pending';
  }
  // Out of BOOT_ORDER means the env holds the state from before arming: the bootloader never
  // tried the target because the arm write was lost (an env copy restored or rolled back), which
  // says nothing about the new software. A target in the order with its tries used up did fail.
  const order = await ctx.deps.bootControl.bootOrder?.();
  if (order !== undefined && !order.includes(target)) {
    ctx.setError({ code: 'E_BOOTLOADER_ARM_LOST', message: `slot ${target} was never tried: the boot environment no longer holds the arm write; ${previous} kept running` });
    ctx.log.error('the arm write was lost: the bootloader never tried the new slot', { target, running });
    return 'booted_old';
  }
  ctx.setError({ code: 'E_BOOTLOADER_FALLBACK', message: `slot ${target} did not come up; the bootloader fell back to ${previous}` });
  ctx.log.error('bootloader fell back to the old slot', { target, running });
  return 'booted_old';
};

export const healthChecking: Handler = async (ctx, signal) => {
  const hc = ctx.deps.healthChecks;
  for (const check of typeof hc === 'function' ? hc() : hc) {
    try {
      await check.check(signal);
      ctx.log.info('health check passed', { check: check.name });
    } catch (err) {
      if (signal.aborted) throw err;
      const code = err instanceof OutpostError ? err.code : 'E_HEALTH_CHECK';
      ctx.setError({ code, message: (err as Error).message });
      ctx.log.error('health check failed', { check: check.name, error: err });
      return 'unhealthy';
    }
  }
  // Committing trusts this only in the same boot: a power cut before the commit re-runs the checks.
  await ctx.save({ healthyBoot: await currentBootId(ctx.deps) });
  return 'healthy';
};

export const committing: Handler = async (ctx, signal) => {
  const { target, bundle } = ctx.journal;
  if (!bundle) throw new OutpostError('E_JOURNAL_STATE', 'committing without bundle facts');
  const running = await ctx.deps.bootedSlot.booted();
  if (running !== target) throw new OutpostError('E_BOOTED_SLOT', `cannot commit ${target}: ${running ?? 'unknown'} is running`);
  if (ctx.journal.healthyBoot !== (await currentBootId(ctx.deps))) {
    ctx.log.warn('the health checks passed in an earlier boot; checking this boot again', { slot: target });
    return 'boot_changed';
  }
  // Re-read what we are about to call good: a slot is only ever good with a matching digest.
  const got = await targetSlot(ctx).digest(bundle.payload.size, signal);
  if (got !== bundle.payload.sha256) throw new OutpostError('E_SLOT_DIGEST', `slot ${target} no longer matches the bundle`);
  await ctx.deps.bootControl.markGood(target);
  // Only now may older releases become unacceptable. The slot is committed at this point: a floor
  // file that cannot be written must not turn a healthy update into a rollback; it is reported
  // (error in the deployment log the hub receives) and the next commit raises it again.
  try {
    await ctx.deps.releaseFloor?.raise(bundle.release);
  } catch (err) {
    ctx.log.error('committed, but the anti-rollback floor could not be raised', { release: bundle.release, error: err });
  }
  ctx.log.info('committed', { slot: target, version: bundle.version, release: bundle.release });
  return 'committed';
};
