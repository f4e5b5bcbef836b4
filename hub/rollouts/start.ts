// Wires the rollout driver into a running hub: offers are built by the bundle service (the URL
// carries the node's download token), a node's reports or acks that touch a rollout's deployment
// wake the driver for that rollout, and the driver's periodic pass covers the rest.
import { randomUUID } from 'node:crypto';
import type { HubContext } from '../context.ts';
import { RolloutDriver } from './driver.ts';
import type { Window } from '../../shared/protocol/index.ts';

export function startRollouts(ctx: HubContext, o: { tickMs?: number } = {}): RolloutDriver {
  const driver = new RolloutDriver({
    store: ctx.store, log: ctx.log.child('rollouts'), now: ctx.now, ...(o.tickMs ? { tickMs: o.tickMs } : {}),
    offer: async (nodeId, rollout, deploymentId) => {
      const bundle = await ctx.store.getBundle(rollout.bundle.bundleId);
      if (!bundle) throw new Error(`bundle ${rollout.bundle.bundleId} of rollout ${rollout.id} is no longer registered`);
      const opts = rollout.offer as { now?: boolean; windows?: Window[]; installWindows?: Window[] };
      return ctx.bundles.offer(nodeId, bundle, {
        deploymentId, commandId: `c-${randomUUID()}`,
        ...(opts.now === true ? { now: true as const } : {}),
        ...(opts.windows ? { windows: opts.windows } : {}),
        ...(opts.installWindows ? { installWindows: opts.installWindows } : {}),
      });
    },
  });
  ctx.hooks.reportsApplied.push((_node, r) => {
    for (const d of r.deployments) if (d.rolloutId) driver.nudge(d.rolloutId);
  });
  ctx.hooks.commandAcked.push((_node, c) => {
    if (c.rolloutId) driver.nudge(c.rolloutId);
  });
  driver.start();
  return driver;
}
