// Between a verified slot and arming: wait until an install/reboot window is open ("download in
// the night, reboot on Sunday at 03:00"). The wait is a handler, not a parked state: a shutdown
// stops it (the journal keeps the state, the next start waits again), a cancel abandons.
import type { Handler } from './context.ts';
import { isOpen, nextOpen } from '../../window/window.ts';

/** Re-check at least this often: the clock may step (NTP, trusted time) and pushes may change. */
export const INSTALL_RECHECK_MS = 60_000;

export const awaitingInstallWindow: Handler = async (ctx, signal) => {
  const gate = ctx.deps.installWindows;
  if (!gate) return 'install_window_open';
  let logged: number | null | undefined;
  for (;;) {
    signal.throwIfAborted();
    const windows = await gate.forDeployment(ctx.journal.id);
    const t = ctx.deps.now();
    if (isOpen(windows, t)) {
      ctx.log.info('install window open', { windows: windows.length });
      return 'install_window_open';
    }
    const opens = nextOpen(windows, t);
    if (opens !== logged) {
      ctx.log.info('waiting for an install window', { opens: opens === null ? null : new Date(opens).toISOString() });
      logged = opens;
    }
    await gate.wait(opens === null ? INSTALL_RECHECK_MS : Math.min(Math.max(opens - t, 1), INSTALL_RECHECK_MS), signal);
  }
};
