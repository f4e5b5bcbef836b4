// The hub's composition root: builds the parts from options and a store, and runs two servers.
//  - the agent endpoint (https/wss with a configured certificate, or plain http/ws for tests and
//    behind a TLS terminator): the agent websocket at /agent and bundle downloads at /bundles/ID;
//  - the operator API (http, 127.0.0.1 by default, operator tokens): /admin/...
// Nothing else constructs concrete parts; routes and the rollout driver get a HubContext.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES } from '../shared/protocol/index.ts';
import type { Logger } from '../agent/log/logger.ts';
import type { HubStore } from './store/types.ts';
import type { HubContext, LinkPolicy } from './context.ts';
import { AgentLink } from './link/agent-link.ts';
import { LinkRegistry } from './link/registry.ts';
import { LinkLiveness } from './link/liveness.ts';
import { AdmissionControl, defaultAdmissionRate } from './link/admission.ts';
import { BundleService } from './bundles/service.ts';
import { ApiError, RouteRegistry } from './api/routes.ts';
import { createApiHandler, checkOperator, send } from './api/server.ts';
import { nodeRoutes } from './api/node-routes.ts';
import { commandRoutes } from './api/command-routes.ts';
import { bundleRoutes } from './api/bundle-routes.ts';
import { HubTimers } from './timers.ts';
import { startRollouts } from './rollouts/start.ts';
import { rolloutRoutes } from './api/rollout-routes.ts';
import { dashboardRoutes, type DashboardSettings } from './dashboard/routes.ts';
import { liveFeed } from './dashboard/events.ts';
import { isDashboardPath, serveDashboard } from './dashboard/static.ts';

/** OpenStreetMap's standard tiles; operators have internet at the console, nodes need none. */
export const DEFAULT_TILES = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';

export interface HubOptions {
  store: HubStore;
  /** Agent endpoint. */
  host: string;
  port: number;
  /** PEM certificate chain and key: the agent endpoint speaks https/wss. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Operator API (default 127.0.0.1, any free port). */
  apiHost?: string;
  apiPort?: number;
  /** The web dashboard on the operator listener: its map tile source (default OpenStreetMap). */
  dashboard?: Partial<DashboardSettings>;
  /** Browser origins allowed to call the operator API (default none). */
  allowedOrigins?: string[];
  bundlesDir: string;
  /** Base URL put into offers (default: this agent endpoint's URL). */
  publicUrl?: string;
  preauthorized?: string[];
  acceptAll?: boolean;
  pendingRetryS?: number;
  /** Handshakes admitted per second (default: 4 % of the accepted fleet, at least 20). */
  admitRatePerS?: number;
  /** A link silent (no ping, no message) this long is dropped (default 150 s). */
  linkTimeoutMs?: number;
  /** Reports stored per node per second, sustained (default 20) and burst (default 200). */
  reportRatePerS?: number;
  reportBurst?: number;
  /** Validity of a download link in an offer (default 30 days). */
  downloadTokenTtlS?: number;
  /** Make an operator token when there is none yet (it is returned once, in `initialToken`). */
  initialToken?: boolean;
  hubId?: string;
  log: Logger;
  now?: () => number;
}

export interface Hub {
  url: string;
  agentUrl: string;
  apiUrl: string;
  store: HubStore;
  ctx: HubContext;
  routes: RouteRegistry;
  admission: AdmissionControl;
  /** The agent endpoint's server (benchmarks count bytes on its sockets). */
  agentServer: http.Server;
  /** The operator token made at this first start (null otherwise). Shown once. */
  initialToken: string | null;
  close(): Promise<void>;
}

function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      resolve(`${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

export async function startHub(o: HubOptions): Promise<Hub> {
  const store = o.store;
  const now = o.now ?? Date.now;
  const log = o.log;
  const hubId = o.hubId ?? `hub-${randomUUID().slice(0, 8)}`;
  // Connections recorded by a hub process that is gone are stale. SQLite has one process only.
  await store.reapHubs(store.dialect === 'sqlite' ? now() + 1 : now() - 30_000);
  await store.hubAlive(hubId, {}, now());
  if (o.preauthorized?.length) await store.preauthorize(o.preauthorized.map((f) => f.toLowerCase()), now());

  let base = '';
  const links = new LinkRegistry();
  const bundles = new BundleService({
    store, dir: o.bundlesDir, secret: Buffer.from(await store.secret('download-token'), 'hex'),
    publicUrl: () => o.publicUrl ?? base, tokenTtlS: o.downloadTokenTtlS ?? 30 * 86_400, log, now,
  });
  const policy: LinkPolicy = {
    acceptAll: o.acceptAll ?? false, pendingRetryS: o.pendingRetryS ?? 30, handshakeTimeoutMs: 15_000,
    reportRatePerS: o.reportRatePerS ?? 20, reportBurst: o.reportBurst ?? 200,
  };
  const ctx: HubContext = { store, hubId, log, links, bundles, policy, hooks: { reportsApplied: [], commandAcked: [] }, now };
  await bundles.registerDir();
  await links.listen(store, log);

  const timers = new HubTimers(ctx);
  await timers.refreshFleet();
  // Several hub processes on one PostgreSQL share the fleet's admission budget (5 %/s of the
  // fleet in all, its floor included): each admits its share of the rate and sizes its hints for
  // its share of the nodes coming back. A process counts while its heartbeat (every 5 s) is under
  // 15 s old; one just killed still counts for those seconds, which errs on the slow side.
  // Preauthorised keys never seen yet are nodes about to dial (a fleet provisioned and powered
  // on): they count in the fleet the rate and the hints are sized for.
  let processes = 1;
  let unseen = 0;
  const countProcesses = async () => {
    unseen = await store.countUnseenPreauthorized();
    if (store.dialect === 'sqlite') return;
    processes = Math.max(1, (await store.listHubs()).filter((h) => h.lastBeat > now() - 15_000).length);
  };
  await countProcesses();
  const admission = new AdmissionControl({
    ratePerS: o.admitRatePerS ?? defaultAdmissionRate(timers.fleet.accepted + unseen, processes),
    missing: () => Math.max(0, timers.fleet.accepted + unseen - timers.fleet.connected) / processes,
    now,
  });
  timers.onFleet = (f) => void countProcesses().catch((err) => log.warn('cannot count hub processes', { err }))
    .then(() => {
      if (o.admitRatePerS === undefined) admission.setRate(defaultAdmissionRate(f.accepted + unseen, processes));
    });
  // Per second while handshakes come in (after a restart): admitted, refused, and authenticated
  // (what the nodes see as back), so a bunching of completed handshakes shows in the log.
  admission.onSecond = (s) => log.info('admission', { at: new Date(s.at).toISOString(), admitted: s.admitted, refused: s.refused, authenticated: s.authenticated, ratePerS: admission.ratePerS });
  const admissionTick = setInterval(() => admission.flush(), 1000);
  admissionTick.unref();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/bundles/') && (req.method === 'GET' || req.method === 'HEAD')) {
      let id: string;
      try {
        id = decodeURIComponent(url.pathname.slice('/bundles/'.length));
      } catch {
        return void res.writeHead(404).end();
      }
      bundles.serve(id, req, res, url.searchParams.get('t')).catch((err) => {
        log.warn('bundle download failed', { err });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    } else res.writeHead(404).end();
  };
  const agentServer = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, onRequest) : http.createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const liveness = new LinkLiveness(o.linkTimeoutMs ?? 150_000, now);
  agentServer.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/agent') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      const a = admission.request();
      if (!a.admit) {
        // Turned away before any work: the agent comes back at a random time within the hint.
        ws.send(JSON.stringify({ v: 1, type: 'backoff', id: `h-adm-${randomUUID().slice(0, 8)}`, retryAfterS: a.retryAfterS }));
        ws.close(1013, 'busy');
        return;
      }
      liveness.watch(ws);
      new AgentLink(ws, ctx, req.headers.host ?? '', a.done, () => admission.paceMs());
    });
  });

  const dashboard: DashboardSettings = {
    tiles: o.dashboard?.tiles === undefined ? DEFAULT_TILES : o.dashboard.tiles,
    tilesAttribution: o.dashboard?.tilesAttribution ?? '© OpenStreetMap contributors',
  };
  const rollouts = startRollouts(ctx);
  const routes = new RouteRegistry().addAll(nodeRoutes(ctx)).addAll(commandRoutes(ctx)).addAll(bundleRoutes(ctx)).addAll(rolloutRoutes(ctx, rollouts))
    .addAll(dashboardRoutes(ctx, dashboard));
  const operatorAuth = {
    allowedOrigins: o.allowedOrigins ?? [],
    authenticate: async (t: string) => {
      const row = await store.verifyToken(t, now());
      return row ? { id: row.id, name: row.name } : null;
    },
  };
  const api = createApiHandler({ routes, log, ...operatorAuth });
  const feed = liveFeed(ctx);
  const apiServer = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (isDashboardPath(path)) {
      serveDashboard(req, res, path, dashboard.tiles).catch((err) => {
        log.error('dashboard files failed', { err });
        if (!res.headersSent) res.writeHead(500).end();
      });
    } else if (path === '/admin/events' && req.method === 'GET') {
      checkOperator(operatorAuth, req).then(() => feed.handle(req, res), (err) => {
        if (err instanceof ApiError) send(res, err.status, { code: err.code, error: err.message });
        else send(res, 500, { code: 'E_API_INTERNAL', error: 'internal error (logged)' });
      });
    } else void api(req, res);
  });

  const agentAddr = await listen(agentServer, o.port, o.host);
  let apiAddr: string;
  try {
    apiAddr = await listen(apiServer, o.apiPort ?? 0, o.apiHost ?? '127.0.0.1');
  } catch (err) {
    agentServer.close();
    throw err;
  }
  const scheme = o.tls ? 'https' : 'http';
  base = `${scheme}://${agentAddr}`;
  await store.hubAlive(hubId, { url: base }, now());
  timers.start();

  let initialToken: string | null = null;
  if (o.initialToken && (await store.listTokens()).length === 0) initialToken = (await store.createToken('initial', now())).token;

  return {
    url: base,
    agentUrl: `${o.tls ? 'wss' : 'ws'}://${agentAddr}/agent`,
    apiUrl: `http://${apiAddr}`,
    store, ctx, routes, admission, agentServer, initialToken,
    close: async () => {
      await rollouts.stop();
      timers.stop();
      clearInterval(admissionTick);
      feed.close();
      liveness.stop();
      await links.stop();
      for (const c of wss.clients) c.terminate();
      const closed = Promise.all([agentServer, apiServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
      agentServer.closeAllConnections();
      apiServer.closeAllConnections();
      await closed;
      await store.releaseConnections(hubId).catch(() => 0);
    },
  };
}
