// Operator API: nodes. Listing with filters, one node in full, enrolment (accept, reject,
// preauthorise), grouping. A node is referred to by fingerprint, a fingerprint prefix (8+ hex
// digits), its device id or its name; a state change needs the reference to name exactly one
// node, so two nodes claiming one device id can never be accepted together by that id.
import { ApiError, type ApiRequest, type Handler } from './routes.ts';
import type { HubContext } from '../context.ts';
import type { NodeFilter, NodeRow } from '../store/types.ts';
import { nodeDetail, nodeSummary } from './node-view.ts';

const FP = /^[0-9a-f]{64}$/;

/** Query parameters → store filter; unknown parameters are refused (a typo must not list everything). */
export function nodeFilter(q: URLSearchParams): NodeFilter {
  const f: NodeFilter = {};
  const num = (k: string) => {
    const v = Number(q.get(k));
    if (!Number.isSafeInteger(v)) throw new ApiError(400, 'E_API_REQUEST', `${k}: expected an integer`);
    return v;
  };
  for (const [k, v] of q) {
    switch (k) {
      case 'status':
        if (v !== 'pending' && v !== 'accepted' && v !== 'rejected') throw new ApiError(400, 'E_API_REQUEST', 'status: pending | accepted | rejected');
        f.status = v;
        break;
      case 'health':
        if (v !== 'ok' && v !== 'updating' && v !== 'failing') throw new ApiError(400, 'E_API_REQUEST', 'health: ok | updating | failing');
        f.health = v;
        break;
      case 'group': f.group = v; break;
      case 'label': f.label = v; break;
      case 'compatible': f.compatible = v; break;
      case 'site': f.siteId = v; break;
      case 'siteName': f.siteName = v; break;
      case 'region': f.region = v; break;
      case 'version': f.version = v; break;
      case 'device': f.deviceId = v; break;
      case 'id': f.idPrefix = v.toLowerCase(); break;
      case 'release': f.release = num(k); break;
      case 'releaseBelow': f.releaseBelow = num(k); break;
      case 'online': f.connected = v === 'true' || v === '1'; break;
      case 'seenBefore': f.lastSeenBefore = num(k); break;
      case 'seenAfter': f.lastSeenAfter = num(k); break;
      case 'limit': case 'after': break;
      default: throw new ApiError(400, 'E_API_REQUEST', `unknown filter ${k.slice(0, 40)}`);
    }
  }
  return f;
}

export async function resolveNodes(ctx: HubContext, ref: unknown): Promise<NodeRow[]> {
  if (typeof ref !== 'string' || !ref) throw new ApiError(400, 'E_API_REQUEST', 'give "node": a fingerprint, a fingerprint prefix (8+ hex digits), a device id or a name');
  const found = await ctx.store.findNodes(ref);
  if (!found.length) throw new ApiError(404, 'E_API_NOT_FOUND', `no node ${ref.slice(0, 80)}`);
  return found;
}

/** Exactly one node, or 409 naming the candidates' fingerprints. */
export async function resolveOne(ctx: HubContext, ref: unknown): Promise<NodeRow> {
  const found = await resolveNodes(ctx, ref);
  if (found.length > 1) {
    throw new ApiError(409, 'E_API_AMBIGUOUS', `${String(ref).slice(0, 80)} names ${found.length} nodes (${found.map((n) => n.id.slice(0, 12)).join(', ')}); use a fingerprint`);
  }
  return found[0]!;
}

export function nodeRoutes(ctx: HubContext): Record<string, Handler> {
  const list = async (req: ApiRequest) => {
    const limit = req.query.get('limit');
    const after = req.query.get('after');
    const r = await ctx.store.listNodes(nodeFilter(req.query), { ...(limit ? { limit: Number(limit) } : {}), ...(after ? { after } : {}) });
    return { nodes: r.nodes.map(nodeSummary), total: r.total, next: r.next };
  };
  const setStatus = (status: 'accepted' | 'rejected') => async (req: ApiRequest) => {
    const n = await resolveOne(ctx, req.body.node);
    const group = typeof req.body.group === 'string' ? req.body.group : Array.isArray(req.body.groups) && typeof req.body.groups[0] === 'string' ? req.body.groups[0] : undefined;
    const row = await ctx.store.updateNode(n.id, { status, ...(group !== undefined ? { group } : {}) });
    // A rejected node's open link ends now; a download token of it stops working at once.
    if (status === 'rejected') ctx.links.get(n.id)?.close(4003, 'rejected');
    return [nodeSummary(row!)];
  };
  return {
    'GET /admin/nodes': list,
    'GET /admin/nodes/:ref': async (req) => Promise.all((await resolveNodes(ctx, req.params.ref)).map((n) => nodeDetail(ctx.store, n))),
    'POST /admin/node': async (req) => Promise.all((await resolveNodes(ctx, req.body.node)).map((n) => nodeDetail(ctx.store, n))),
    'GET /admin/counts': async (req) => {
      const by = req.query.get('by') ?? 'status';
      if (!['status', 'release', 'version', 'health', 'group', 'siteId', 'connected'].includes(by)) throw new ApiError(400, 'E_API_REQUEST', 'by: status | release | version | health | group | siteId | connected');
      const q = new URLSearchParams(req.query);
      q.delete('by');
      return ctx.store.countNodes(nodeFilter(q), by as 'status');
    },
    'POST /admin/accept': setStatus('accepted'),
    'POST /admin/reject': setStatus('rejected'),
    'POST /admin/preauthorize': async (req) => {
      const fps = Array.isArray(req.body.fingerprints) ? req.body.fingerprints : [];
      if (!fps.length || !fps.every((f): f is string => typeof f === 'string' && FP.test(f))) throw new ApiError(400, 'E_API_REQUEST', '"fingerprints": 64 lowercase hex digits each');
      return { preauthorized: await ctx.store.preauthorize(fps, ctx.now()) };
    },
    'POST /admin/groups': async (req) => {
      const n = await resolveOne(ctx, req.body.node);
      const g = typeof req.body.group === 'string' || req.body.group === null ? req.body.group : Array.isArray(req.body.groups) ? (req.body.groups[0] ?? null) : undefined;
      if (g !== null && typeof g !== 'string') throw new ApiError(400, 'E_API_REQUEST', '"group": a name or null');
      const labels = Array.isArray(req.body.labels) ? req.body.labels.filter((l): l is string => typeof l === 'string') : undefined;
      const row = await ctx.store.updateNode(n.id, { group: g, ...(labels ? { labels } : {}) });
      return [nodeSummary(row!)];
    },
  };
}
