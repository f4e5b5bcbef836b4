// One HTTP(S) request on node:http/https: verified TLS with our CA list and optional client
// certificate, and an HTTP proxy (CONNECT tunnel for https, absolute-form for http) unless NO_PROXY
// says otherwise. Every request has a deadline for connect + response headers and honours a signal.
import type { IncomingMessage, ClientRequest } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { OutpostError } from '../../shared/errors.ts';
import { connectTunnel, defaultPort, parseProxyUrl, proxyAuthorization, routeFor } from './proxy.ts';
import type { TlsMaterial } from './tls-options.ts';
import { http, https, tls as lazyTls } from './lazy-tls.ts';

export interface TransportOptions {
  readonly tls: TlsMaterial;
  /** http://[user:pass@]host:port, or null for direct connections. */
  readonly proxy: string | null;
  readonly noProxy: readonly string[];
  readonly userAgent?: string;
}

export interface RequestSpec {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  /** Connect + TLS + response headers must finish within this. */
  readonly deadlineMs: number;
}

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/;

/** Maps a socket/TLS error to a stable code; TLS failures are not retried (they will not heal). */
export function networkError(err: unknown, what: string): OutpostError {
  if (err instanceof OutpostError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = `${what}: ${(err as Error).message ?? String(err)}`;
  if (TLS_CODE.test(code)) return new OutpostError('E_FETCH_TLS', message, { cause: err });
  return new OutpostError('E_FETCH_NETWORK', message, { retryable: true, cause: err });
}

// The proxy and NO_PROXY come in already resolved against the environment (from-config.ts).
const NO_ENV = { httpsProxy: null, httpProxy: null, noProxy: null } as const;

export class HttpTransport {
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
    if (options.proxy && options.proxy !== 'direct') parseProxyUrl(options.proxy); // a bad proxy URL fails here, not per request
  }

  /** TLS trust and identity, for connections made outside node:http (agent/fetch/socket-get.ts). */
  get tls(): TlsMaterial {
    return this.#o.tls;
  }

  get userAgent(): string {
    return this.#o.userAgent ?? 'outpost';
  }

  /** The proxy a request to `url` goes through (null: directly): the hub link's decision too. */
  route(url: URL): URL | null {
    return routeFor(url, { proxy: this.#o.proxy ?? 'direct', noProxy: this.#o.noProxy }, NO_ENV);
  }

  /** Resolves with the response (any status); the caller reads or destroys it. */
  request(spec: RequestSpec): Promise<IncomingMessage> {
    const { url, signal } = spec;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(new OutpostError('E_FETCH_URL', `unsupported URL scheme ${url.protocol}`));
    }
    signal.throwIfAborted();
    return new Promise<IncomingMessage>((resolve, reject) => {
      let current: ClientRequest | null = null;
      let tunnel: Socket | null = null;
      let settled = false;
      const finish = (err: unknown, res?: IncomingMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (res) return resolve(res);
        current?.destroy();
        tunnel?.destroy();
        reject(signal.aborted ? signal.reason : networkError(err, `GET ${url.origin}${url.pathname}`));
      };
      const onAbort = () => finish(signal.reason);
      const timer = setTimeout(
        () => finish(new OutpostError('E_FETCH_STALL', `no response from ${url.host} within ${spec.deadlineMs} ms`, { retryable: true })),
        spec.deadlineMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      const headers = { 'user-agent': this.userAgent, ...spec.headers };
      const send = (make: () => ClientRequest) => {
        if (settled) return;
        current = make();
        current.on('response', (res) => finish(null, res));
        current.on('error', (err) => finish(err));
        current.end();
      };
      const proxy = this.route(url);
      // Only https reads the CAs: parsing the OS store costs ~60 ms a plain-http download need not pay.
      const tls = () => ({ ca: [...this.#o.tls.ca], cert: this.#o.tls.cert, key: this.#o.tls.key });
      const path = url.pathname + url.search;
      if (!proxy) {
        const make = url.protocol === 'https:' ? https().request : http().request;
        send(() => make(url, { headers, agent: false, ...(url.protocol === 'https:' ? tls() : {}) }));
      } else if (url.protocol === 'http:') {
        // Plain HTTP goes to the proxy in absolute form.
        send(() => http().request({ host: proxy.hostname, port: defaultPort(proxy), path: url.href, headers: { ...headers, host: url.host, ...proxyAuthorization(proxy) }, agent: false }));
      } else {
        const host = url.hostname.replace(/^\[|\]$/g, '');
        connectTunnel(proxy, host, defaultPort(url), spec.deadlineMs, signal).then((socket) => {
          tunnel = socket;
          if (settled) return socket.destroy();
          const secure = lazyTls().connect({ socket, host, servername: isIP(host) ? undefined : host, ...tls() });
          tunnel = secure;
          // No agent at all: with `agent: false` Node would build a fresh Agent and dial directly.
          send(() => https().request({ host, port: defaultPort(url), path, headers, createConnection: () => secure }));
        }, (err) => finish(err));
      }
    });
  }
}
