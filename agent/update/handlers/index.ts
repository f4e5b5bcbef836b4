// State → handler. Parked and terminal states have none: the runner stops there.
import type { HandlerTable } from './context.ts';
import { arming, preparing, verifying } from './install.ts';
import { writing } from './write.ts';
import { booted, committing, healthChecking, rebooting } from './after-boot.ts';
import { awaitingInstallWindow } from './install-window.ts';
import { abandoning, reverting, rollbackRebooting } from './revert.ts';

export const HANDLERS: HandlerTable = {
  preparing: preparing,
  writing,
  verifying,
  awaiting_install_window: awaitingInstallWindow,
  arming,
  rebooting,
  booted,
  health_checking: healthChecking,
  committing,
  reverting,
  rollback_rebooting: rollbackRebooting,
  abandoning,
};
