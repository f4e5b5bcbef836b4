// Simulated nodes for the dashboard's rollout pages: the store-level nodes of the driver tests
// (test/hub/rollouts/store-fleet.ts), moved one step at a time by the test, whose acknowledgements
// and reports also fire the hub's hooks as its agent link does, so the rollout driver steps and
// the live feed tells the page at once (not at the next periodic pass).
import type { HubContext } from '../../../hub/context.ts';
import type { HubStore } from '../../../hub/store/types.ts';
import type { Report } from '../../../shared/protocol/index.ts';
import { addNodes, stepNodes, type SimNode } from '../rollouts/store-fleet.ts';

/** `ctx.store` with appendReports and ackCommand reporting to the hub's hooks. */
function linkedStore(ctx: HubContext): HubStore {
  const store = ctx.store;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendReports') {
        return async (...args: Parameters<HubStore['appendReports']>) => {
          const r = await target.appendReports(...args);
          for (const f of ctx.hooks.reportsApplied) f(args[0], r);
          return r;
        };
      }
      if (prop === 'ackCommand') {
        return async (...args: Parameters<HubStore['ackCommand']>) => {
          const row = await target.ackCommand(...args);
          if (row) for (const f of ctx.hooks.commandAcked) f(args[0], row);
          return row;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export interface RolloutFleet {
  nodes: SimNode[];
  /** One round: every online node acknowledges its commands and moves each deployment one step. */
  step(): Promise<number>;
  /** `node` ends `deployment` with result failure (an install that failed without a rollback). */
  fail(node: SimNode, deployment: string, code: string, message: string): Promise<void>;
}

/** `n` accepted nodes of board `compatible`, running release 1, online on this hub. */
export async function addRolloutFleet(ctx: HubContext, n: number, compatible: string): Promise<RolloutFleet> {
  const now = ctx.now();
  const nodes = await addNodes(ctx.store, n, now, { compatible: [compatible] });
  for (const node of nodes) await ctx.store.setConnected(node.id, ctx.hubId, now);
  const store = linkedStore(ctx);
  return {
    nodes,
    step: () => stepNodes(store, nodes, ctx.now()),
    async fail(node, deployment, code, message) {
      node.seq++;
      const outcome = { v: 1, id: `r-${node.seq}`, seq: node.seq, type: 'update.outcome', at: ctx.now(), deploymentId: deployment, result: 'failure', code, message, log: '' };
      await store.appendReports(node.id, [outcome as unknown as Report], ctx.now());
      node.progress.set(deployment, 3); // finished: step() leaves it alone
    },
  };
}
