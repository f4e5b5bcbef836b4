// Operator API routes the dashboard reads: fleet counts, one sorted page of the node table and
// the map's points. Everything a page shows at 10,000 nodes is aggregated or paged here, so the
// browser never receives the whole fleet as objects (the map gets one compact line per node).
import { ApiError, type ApiRequest, type Handler } from '../api/routes.ts';
import { nodeFilter } from '../api/node-routes.ts';
import { nodeSummary } from '../api/node-view.ts';
import type { HubContext } from '../context.ts';
import type { CountBy, NodeFilter, NodeRow, RolloutRow } from '../store/types.ts';
import { FleetSnapshots, KEEP_MS, type SortKey } from './snapshot.ts';

export interface DashboardSettings {
  /** Map tile URL template ({z}/{x}/{y}); null: no tiles, markers on a blank map. */
  tiles: string | null;
  tilesAttribution: string;
}

const SORTS: Record<string, SortKey> = {
  name: (n) => (n.name ?? n.deviceId).toLowerCase(),
  release: (n) => n.running?.release ?? -1,
  version: (n) => n.running?.version ?? '',
  health: (n) => n.health,
  status: (n) => n.status,
  group: (n) => n.group ?? '',
  site: (n) => n.site?.id ?? n.site?.name ?? '',
  lastSeen: (n) => n.lastSeen,
  online: (n) => (n.connectedVia ? 1 : 0),
};
const PAGE_MAX = 200;
const MAP_MAX_AGE_MS = KEEP_MS;
/** Query keys that are not store filters. */
const VIEW_KEYS = ['sort', 'dir', 'offset', 'limit'];

/** Every node matching `filter`, read in pages (the store caps one page). */
async function allNodes(ctx: HubContext, filter: NodeFilter): Promise<NodeRow[]> {
  const out: NodeRow[] = [];
  let after: string | undefined;
  do {
    const page = await ctx.store.listNodes(filter, { limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.nodes);
    after = page.next ?? undefined;
  } while (after);
  return out;
}

function filterOf(q: URLSearchParams): NodeFilter {
  const rest = new URLSearchParams(q);
  for (const k of VIEW_KEYS) rest.delete(k);
  return nodeFilter(rest);
}

function intParam(q: URLSearchParams, key: string, def: number, max: number): number {
  const v = q.get(key);
  if (v === null) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new ApiError(400, 'E_API_REQUEST', `${key}: an integer from 0 to ${max}`);
  return n;
}

async function counts(ctx: HubContext, by: CountBy) {
  return (await ctx.store.countNodes({}, by)).sort((a, b) => b.count - a.count);
}

function rolloutLine(r: RolloutRow) {
  return { id: r.id, name: r.name, status: r.status, wave: r.currentWave + 1, waves: r.waves.length, reason: r.pausedReason, version: r.bundle.version, release: r.bundle.release };
}

/** A map coordinate to 5 decimals (about a metre): a dot on the map needs no more. */
const coord = (x: number) => Math.round(x * 1e5) / 1e5;

export function dashboardRoutes(ctx: HubContext, settings: DashboardSettings): Record<string, Handler> {
  const fleet = new FleetSnapshots((f) => allNodes(ctx, f), { now: () => Date.now() });
  return {
    'GET /admin/dashboard/config': async (req: ApiRequest) => ({ operator: req.operator.name, tiles: settings.tiles, tilesAttribution: settings.tilesAttribution }),
    'GET /admin/dashboard/summary': async () => {
      const [status, release, health, connected, rollouts] = await Promise.all([
        counts(ctx, 'status'), counts(ctx, 'release'), counts(ctx, 'health'), counts(ctx, 'connected'),
        ctx.store.listRollouts({}, { limit: 20 }),
      ]);
      return { at: ctx.now(), status, release, health, connected, rollouts: rollouts.map(rolloutLine) };
    },
    'GET /admin/dashboard/nodes': async (req: ApiRequest) => {
      const q = req.query;
      const sortKey = q.get('sort') ?? 'name';
      const key = SORTS[sortKey];
      if (!key) throw new ApiError(400, 'E_API_REQUEST', `sort: one of ${Object.keys(SORTS).join(', ')}`);
      const dir = q.get('dir') === 'desc' ? -1 : 1;
      const offset = intParam(q, 'offset', 0, 10_000_000);
      const limit = intParam(q, 'limit', 50, PAGE_MAX);
      const nodes = await fleet.sorted(filterOf(q), sortKey, key);
      // Descending is ascending read from the end (ties by id reversed too, as a flipped comparison would).
      const page = dir === 1 ? nodes.slice(offset, offset + limit) : nodes.slice(Math.max(0, nodes.length - offset - limit), Math.max(0, nodes.length - offset)).reverse();
      return { total: nodes.length, offset, rows: page.map(nodeSummary) };
    },
    'GET /admin/dashboard/map': async (req: ApiRequest) => {
      // The map is a picture taken when it opens (the page does not redraw it on live events), so
      // the table's recent read serves it: opening the map after the fleet costs no second read.
      const nodes = await fleet.nodes(filterOf(req.query), MAP_MAX_AGE_MS);
      // One line per located node, tab-separated: fingerprint, lat, lon, health, release ('' when
      // unknown), moved (1/0), online (1/0), name. One string, so the API's indented JSON does not
      // put each of 80,000 values on a line of its own (1.9 MB → 1.1 MB at 10,000 nodes).
      let located = 0;
      const lines: string[] = [];
      for (const n of nodes) {
        const l = n.location;
        if (!l) continue;
        located++;
        lines.push([n.id, coord(l.lat), coord(l.lon), n.health, n.running?.release ?? '', l.moved ? 1 : 0, n.connectedVia ? 1 : 0, (n.name ?? n.deviceId).replace(/[\t\n\r]/g, ' ')].join('\t'));
      }
      return { total: nodes.length, located, points: lines.join('\n') };
    },
  };
}
