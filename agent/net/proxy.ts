// The one proxy decision and the one CONNECT tunnel for every outbound connection: the hub link
// (ws/wss) and downloads (http/https). Same settings, same route, same error codes.
import type httpTypes from 'node:http';
import net from 'node:net';
import type tlsTypes from 'node:tls';
import type { Duplex } from 'node:stream';
import { OutpostError } from '../../shared/errors.ts';
import { bypassesProxy, parseNoProxy } from './no-proxy.ts';
import { http, https, tls } from './lazy-tls.ts';

/** The proxy variables as read from the environment (agent/config/sections/fetch.ts reads them). */
export interface ProxyEnvironment {
  readonly httpsProxy: string | null;
  readonly httpProxy: string | null;
  readonly noProxy: string | null;
}

export interface ProxySettings {
  /** A configured proxy URL, "direct" for none, or null: the environment's for the target's scheme. */
  readonly proxy: string | null;
  /** Configured NO_PROXY entries, or null: the environment's NO_PROXY. */
  readonly noProxy: readonly string[] | null;
}

const secureScheme = (u: URL) => u.protocol === 'https:' || u.protocol === 'wss:';

/** The proxy URL to use for `target` before NO_PROXY is applied (null: direct). */
export function proxySetting(target: URL, s: ProxySettings, env: ProxyEnvironment): string | null {
  if (s.proxy === 'direct') return null;
  if (s.proxy !== null) return s.proxy;
  return secureScheme(target) ? env.httpsProxy : env.httpProxy;
}

/** Checks a proxy URL: only http:// proxies (CONNECT, or absolute form for plain http). */
export function parseProxyUrl(proxy: string): URL {
  let u: URL;
  try {
    u = new URL(proxy);
  } catch {
    throw new OutpostError('E_FETCH_PROXY', `proxy is not a URL: ${proxy}`);
  }
  if (u.protocol !== 'http:') throw new OutpostError('E_FETCH_PROXY', `proxy ${u.origin}: only http:// proxies are supported`);
  return u;
}

/**
 * Where a connection to `target` goes: through the returned proxy, or directly (null). The one
 * decision both the hub link and downloads use.
 */
export function routeFor(target: URL, s: ProxySettings, env: ProxyEnvironment): URL | null {
  const proxy = proxySetting(target, s, env);
  if (proxy === null) return null;
  if (bypassesProxy(target, s.noProxy ?? parseNoProxy(env.noProxy))) return null;
  return parseProxyUrl(proxy);
}

export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(creds).toString('base64')}` };
}

export const defaultPort = (u: URL): number => Number(u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : 80));

/**
 * A CONNECT tunnel to host:port through `proxy`. E_FETCH_PROXY when the proxy is unreachable,
 * refuses (retryable for 5xx) or does not answer within `timeoutMs`.
 */
export function connectTunnel(proxy: URL, host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const target = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
    const req = http().request({
      host: proxy.hostname, port: defaultPort(proxy), method: 'CONNECT', path: target, headers: { host: target, ...proxyAuthorization(proxy) }, agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer to CONNECT within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => req.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => (clearTimeout(timer), signal?.removeEventListener('abort', onAbort));
    req.once('connect', (res, socket) => {
      done();
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(new OutpostError('E_FETCH_PROXY', `proxy ${proxy.host} refused CONNECT ${target}: HTTP ${res.statusCode}`, { retryable: (res.statusCode ?? 0) >= 500 }));
    });
    req.once('error', (err) => {
      done();
      if (signal?.aborted) return reject(signal.reason);
      reject(new OutpostError('E_FETCH_PROXY', `proxy ${proxy.host}: ${err.message}`, { retryable: true, cause: err }));
    });
    req.end();
  });
}

type ConnectOptions = tlsTypes.ConnectionOptions & { host?: string; port?: number | string; servername?: string };
type Callback = (err: Error | null, socket?: Duplex) => void;

/**
 * An agent for ws's `agent` option whose connections are CONNECT tunnels. `secure`: the target is
 * wss:// (TLS to the hub inside the tunnel, verified with the request's ca/cert/key) or ws://.
 */
export function tunnelAgent(proxy: URL, secure: boolean, connectTimeoutMs = 15_000): httpTypes.Agent {
  const agent = secure ? new (https().Agent)({ keepAlive: false }) : new (http().Agent)({ keepAlive: false });
  const create = (options: ConnectOptions, callback: Callback): undefined => {
    const host = String(options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port ?? (secure ? 443 : 80));
    connectTunnel(proxy, host, port, connectTimeoutMs).then(
      (socket) => {
        if (!secure) return callback(null, socket);
        callback(null, tls().connect({ ...options, socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) }));
      },
      (err: Error) => callback(err),
    );
    return undefined;
  };
  (agent as unknown as { createConnection: typeof create }).createConnection = create;
  return agent;
}
