// HTTPS_PROXY support without a dependency: an https.Agent whose connections are CONNECT
// tunnels through the proxy; TLS to the hub then runs inside the tunnel, end to end.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { AgentError } from '../lib/errors.ts';

/** NO_PROXY semantics as curl has them: comma list of hosts or domain suffixes, `*` for all. */
export function bypassProxy(host: string, noProxy: string | null): boolean {
  if (!noProxy) return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return noProxy.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).some((rule) => {
    if (rule === '*') return true;
    const r = rule.replace(/^\*?\./, '').replace(/:\d+$/, '');
    return h === r || h.endsWith(`.${r}`);
  });
}

function tunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `${host}:${port}` };
    if (proxy.username) {
      const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const req = http.request({
      host: proxy.hostname, port: Number(proxy.port) || 80, method: 'CONNECT', path: `${host}:${port}`, headers, timeout: timeoutMs,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new AgentError('E_PROXY_CONNECT', `proxy refused CONNECT ${host}:${port}: HTTP ${res.statusCode}`, { retryable: true }));
      } else resolve(socket);
    });
    req.once('timeout', () => req.destroy(new Error('proxy CONNECT timed out')));
    req.once('error', (err) => reject(new AgentError('E_PROXY_CONNECT', `proxy ${proxy.host}: ${err.message}`, { cause: err, retryable: true })));
    req.end();
  });
}

type ConnectOptions = tls.ConnectionOptions & { host?: string; port?: number | string; servername?: string };
type Callback = (err: Error | null, socket?: Duplex) => void;

/**
 * An agent for ws's `agent` option whose connections are CONNECT tunnels. `secure`: the target is
 * wss:// (TLS to the hub inside the tunnel, verified with the request's ca/cert/key) or ws://.
 */
export function tunnelAgent(proxy: URL, secure: boolean, connectTimeoutMs = 15_000): http.Agent {
  const agent = secure ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
  const create = (options: ConnectOptions, callback: Callback): undefined => {
    const host = String(options.host ?? 'localhost');
    const port = Number(options.port ?? (secure ? 443 : 80));
    tunnel(proxy, host, port, connectTimeoutMs).then(
      (socket) => {
        if (!secure) return callback(null, socket);
        callback(null, tls.connect({ ...options, socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) }));
      },
      (err: Error) => callback(err),
    );
    return undefined;
  };
  (agent as unknown as { createConnection: typeof create }).createConnection = create;
  return agent;
}
