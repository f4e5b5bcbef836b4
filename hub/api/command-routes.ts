// Operator API: commands for nodes (offer one bundle, reboot, inventory refresh, config push,
// cancel, backoff). Every command is stored first (store.enqueueCommand) and reaches the node
// through whichever hub process holds its socket, now or when it reconnects.
import { randomUUID } from 'node:crypto';
import { encodeHubMessage, pushedConfig } from '../../shared/protocol/index.ts';
import type { Command, Window } from '../../shared/protocol/index.ts';
import type { BundleRow, NodeRow } from '../store/types.ts';
import type { HubContext } from '../context.ts';
import { ApiError, type ApiRequest, type Handler } from './routes.ts';
import { resolveOne } from './node-routes.ts';

/** `node` (one node) or `group` (its accepted nodes). */
async function targets(ctx: HubContext, b: Record<string, unknown>): Promise<NodeRow[]> {
  if (b.node !== undefined) return [await resolveOne(ctx, b.node)];
  if (typeof b.group !== 'string') throw new ApiError(400, 'E_API_REQUEST', 'give "node" (fingerprint, prefix, device id or name) or "group"');
  const out: NodeRow[] = [];
  let after: string | undefined;
  do {
    const page = await ctx.store.listNodes({ group: b.group, status: 'accepted' }, { limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.nodes);
    after = page.next ?? undefined;
  } while (after);
  if (!out.length) throw new ApiError(404, 'E_API_NOT_FOUND', `no accepted node in group ${b.group.slice(0, 80)}`);
  return out;
}

function validated(c: Command): Command {
  try {
    encodeHubMessage(c); // the hub never stores what an agent would refuse
  } catch (err) {
    throw new ApiError(400, 'E_API_REQUEST', (err as Error).message);
  }
  return c;
}

async function issue(ctx: HubContext, nodes: NodeRow[], make: (n: NodeRow) => Command, opts: { bundleId?: string } = {}) {
  const out = [];
  for (const n of nodes) {
    if (n.status !== 'accepted') throw new ApiError(409, 'E_API_NOT_ACCEPTED', `node ${n.id.slice(0, 12)} is ${n.status}`);
    const c = validated(make(n));
    await ctx.store.enqueueCommand(n.id, c, { now: ctx.now(), ...opts });
    out.push({ node: n.id, id: c.id, type: c.type, delivered: n.connectedVia !== null });
  }
  return out;
}

export async function bundleFor(ctx: HubContext, name: unknown): Promise<BundleRow> {
  if (typeof name !== 'string' || !name) throw new ApiError(400, 'E_API_REQUEST', 'give "bundle": a registered bundle id (its file name)');
  const row = await ctx.store.getBundle(name);
  if (row) return row;
  try {
    return await ctx.bundles.register(name); // a file dropped into the bundles directory since start
  } catch (err) {
    throw new ApiError(404, 'E_API_NOT_FOUND', `no bundle "${name.slice(0, 100)}": ${(err as Error).message}`);
  }
}

/** Why `bundle` must not go to `n`, or null. The same rules as a rollout's planner. */
export function refusalFor(n: NodeRow, bundle: BundleRow): string | null {
  if (n.compatible.length && !n.compatible.some((c) => bundle.compatible.includes(c))) return `incompatible: the node takes ${n.compatible.join(', ')}, the bundle is for ${bundle.compatible.join(', ')}`;
  if (n.releaseFloor !== null && bundle.release < n.releaseFloor) return `release ${bundle.release} is below the node's floor ${n.releaseFloor}`;
  return null;
}

export function commandRoutes(ctx: HubContext): Record<string, Handler> {
  return {
    'POST /admin/offer': async ({ body: b }: ApiRequest) => {
      const nodes = await targets(ctx, b);
      const bundle = await bundleFor(ctx, b.bundle);
      // Version and release come from the signed manifest; one given by hand must agree with it.
      if (b.version !== undefined && String(b.version) !== bundle.version) throw new ApiError(400, 'E_API_BUNDLE_MISMATCH', `bundle ${bundle.id} is version ${bundle.version}, not ${String(b.version).slice(0, 64)}`);
      if (b.release !== undefined && String(b.release) !== String(bundle.release)) throw new ApiError(400, 'E_API_BUNDLE_MISMATCH', `bundle ${bundle.id} is release ${bundle.release}, not ${String(b.release).slice(0, 64)}`);
      for (const n of nodes) {
        const why = refusalFor(n, bundle);
        if (why) throw new ApiError(409, 'E_API_OFFER_REFUSED', `node ${n.id.slice(0, 12)}: ${why}`);
      }
      const deploymentId = typeof b.deploymentId === 'string' ? b.deploymentId : `d-${randomUUID().slice(0, 13)}`;
      return issue(ctx, nodes, (n) => ctx.bundles.offer(n.id, bundle, {
        deploymentId, commandId: `c-${randomUUID()}`,
        ...(b.now === true ? { now: true as const } : {}),
        ...(Array.isArray(b.windows) ? { windows: b.windows as Window[] } : {}),
        ...(Array.isArray(b.installWindows) ? { installWindows: b.installWindows as Window[] } : {}),
      }), { bundleId: bundle.id });
    },
    'POST /admin/command': async ({ body: b }: ApiRequest) => {
      const nodes = await targets(ctx, b);
      const id = () => `c-${randomUUID()}`;
      switch (b.type) {
        case 'cancel':
          return issue(ctx, nodes, () => ({ v: 1, type: 'cancel', id: id(), deploymentId: String(b.deploymentId ?? '') }));
        case 'reboot':
          return issue(ctx, nodes, () => ({ v: 1, type: 'reboot', id: id(), ...(typeof b.reason === 'string' ? { reason: b.reason } : {}) }));
        case 'inventory.refresh':
          return issue(ctx, nodes, () => ({ v: 1, type: 'inventory.refresh', id: id() }));
        case 'config.push': {
          let config;
          try {
            config = pushedConfig(b.config);
          } catch (err) {
            throw new ApiError(400, 'E_API_REQUEST', (err as Error).message);
          }
          return issue(ctx, nodes, () => ({ v: 1, type: 'config.push', id: id(), config }));
        }
        case 'backoff': {
          // Not a command (no ack, not stored): tells the nodes connected to THIS hub process to go
          // away for a while; each spreads its return over the interval.
          const retryAfterS = Number(b.retryAfterS ?? 60);
          if (!Number.isInteger(retryAfterS) || retryAfterS < 1 || retryAfterS > 86_400) throw new ApiError(400, 'E_API_REQUEST', 'retryAfterS: 1..86400');
          return nodes.map((n) => {
            const link = ctx.links.get(n.id);
            link?.backoff(retryAfterS);
            return { node: n.id, delivered: link !== undefined };
          });
        }
        default:
          throw new ApiError(400, 'E_API_REQUEST', 'type: cancel | reboot | inventory.refresh | config.push | backoff');
      }
    },
    /** Sends a stored command again with the same id (the agent must answer "duplicate"). */
    'POST /admin/resend': async ({ body: b }: ApiRequest) => {
      const n = await resolveOne(ctx, b.node);
      const row = typeof b.id === 'string' ? await ctx.store.getCommand(n.id, b.id) : null;
      if (!row) throw new ApiError(404, 'E_API_NOT_FOUND', 'no such command for this node');
      const link = ctx.links.get(n.id);
      link?.send(row.command);
      return { delivered: link !== undefined };
    },
  };
}
