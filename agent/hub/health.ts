// "The hub is reachable": the check the update machine runs before committing a new slot, so a
// node that cannot phone home after an update rolls back instead of going dark.
import type { HubLink } from './connection.ts';
import type { ReachabilityCheck } from './ports.ts';

export function hubReachable(link: Pick<HubLink, 'isAuthenticated' | 'ping'>, deadlineMs: number, waitForLinkMs = 0): ReachabilityCheck {
  return async (signal) => {
    // Right after a reboot the link may still be dialling: give it until the deadline.
    const until = Date.now() + Math.max(waitForLinkMs, 0);
    while (!link.isAuthenticated() && Date.now() < until && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
    return link.ping(deadlineMs, signal);
  };
}
