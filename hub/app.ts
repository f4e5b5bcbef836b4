// The reference hub: one node:http server carrying the agent websocket (/agent), bundle
// downloads (/bundles/NAME, Range) and the loopback-only admin API (/admin/...).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES } from '../shared/protocol/index.ts';
import type { HubMessage } from '../shared/protocol/index.ts';
import type { Logger } from '../agent/log/logger.ts';
import { HubStore } from './json-store.ts';
import { AgentLink, type LinkPolicy } from './link/agent-link.ts';
import { serveBundle } from './bundles/serve.ts';
import { createAdmin } from './api/admin.ts';

export interface DevHubOptions {
  host: string;
  port: number;
  stateFile: string;
  bundlesDir: string;
  preauthorized?: string[];
  acceptAll?: boolean;
  pendingRetryS?: number;
  publicUrl?: string;
  /** How often the hub pings agents; one missed pong drops the connection (default 30 s). */
  pingIntervalMs?: number;
  log: Logger;
}

export interface DevHub {
  url: string;
  agentUrl: string;
  store: HubStore;
  close(): Promise<void>;
}

export async function startDevHub(o: DevHubOptions): Promise<DevHub> {
  const store = await HubStore.open(o.stateFile, o.preauthorized ?? []);
  const links = new Map<string, AgentLink>();
  const policy: LinkPolicy = { acceptAll: o.acceptAll ?? false, pendingRetryS: o.pendingRetryS ?? 30, handshakeTimeoutMs: 15_000 };
  let base = '';
  const admin = createAdmin({
    store, bundlesDir: o.bundlesDir,
    publicUrl: () => o.publicUrl ?? base,
    deliver: (fp: string, m: HubMessage) => {
      const l = links.get(fp);
      if (!l) return false;
      l.send(m);
      return true;
    },
    connected: (fp) => links.has(fp),
  });
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/bundles/') && (req.method === 'GET' || req.method === 'HEAD')) {
      void serveBundle(o.bundlesDir, decodeURIComponent(path.slice('/bundles/'.length)), req, res);
    } else if (path.startsWith('/admin/')) void admin(req, res, path);
    else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  // Half-open connections (a node that lost power) are found by our own pings and dropped.
  const alive = new WeakMap<object, boolean>();
  const sweep = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) ws.terminate();
      else {
        alive.set(ws, false);
        ws.ping();
      }
    }
  }, o.pingIntervalMs ?? 30_000);
  sweep.unref();
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/agent') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      const link = new AgentLink(ws, store, policy, o.log, (l) => {
        const fp = l.node!.fingerprint;
        // One link per node: a newer connection replaces an older (probably dead) one.
        const old = links.get(fp);
        links.set(fp, l);
        if (old && old !== l) old.ws.close(4002, 'replaced by a newer connection');
      });
      ws.on('close', () => {
        const fp = link.node?.fingerprint;
        if (fp && links.get(fp) === link) links.delete(fp);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  base = `http://${host}:${addr.port}`;
  return {
    url: base,
    agentUrl: `ws://${host}:${addr.port}/agent`,
    store,
    close: async () => {
      clearInterval(sweep);
      for (const c of wss.clients) c.terminate();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await store.persist();
    },
  };
}
