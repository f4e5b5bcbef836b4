// Builds the ws client options once from config: TLS trust (system CAs + configured CA), the
// optional client certificate, the proxy tunnel, and the frame/compression limits.
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { ClientOptions } from 'ws';
import { AgentError } from '../lib/errors.ts';
import { MAX_FRAME_BYTES } from '../../shared/protocol/limits.ts';
import { bypassProxy, tunnelAgent } from './proxy.ts';

export interface TransportConfig {
  url: string;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  proxy: string | null;
  noProxy: string | null;
  handshakeTimeoutMs: number;
}

async function pem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new AgentError('E_HUB_CONFIG', `cannot read hub ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function buildClientOptions(c: TransportConfig): Promise<ClientOptions> {
  let target: URL;
  try {
    target = new URL(c.url);
  } catch {
    throw new AgentError('E_HUB_CONFIG', `hub.url is not a URL: ${c.url}`);
  }
  if (target.protocol !== 'wss:' && target.protocol !== 'ws:') throw new AgentError('E_HUB_CONFIG', 'hub.url must be wss:// (or ws:// for tests)');
  if ((c.certFile === null) !== (c.keyFile === null)) throw new AgentError('E_HUB_CONFIG', 'hub.certFile and hub.keyFile go together');
  const opts: ClientOptions = {
    maxPayload: MAX_FRAME_BYTES,
    // Reports are small JSON; compression costs memory per link and opens zip-bomb questions.
    perMessageDeflate: false,
    handshakeTimeout: c.handshakeTimeoutMs,
    followRedirects: false,
  };
  if (target.protocol === 'wss:') {
    // Node's bundled roots, the operating system's store, and the configured CA (giving `ca`
    // replaces the defaults, so all are listed explicitly).
    const extra = c.caFile ? [await pem(c.caFile, 'CA file')] : [];
    opts.ca = [...new Set([...tls.getCACertificates('default'), ...tls.getCACertificates('system')]), ...extra];
    if (c.certFile && c.keyFile) {
      opts.cert = await pem(c.certFile, 'client certificate');
      opts.key = await pem(c.keyFile, 'client key');
    }
  }
  if (c.proxy && !bypassProxy(target.hostname, c.noProxy)) {
    let proxy: URL;
    try {
      proxy = new URL(c.proxy);
    } catch {
      throw new AgentError('E_HUB_CONFIG', `proxy is not a URL: ${c.proxy}`);
    }
    if (proxy.protocol !== 'http:') throw new AgentError('E_HUB_CONFIG', 'only http:// proxies (CONNECT) are supported');
    opts.agent = tunnelAgent(proxy, target.protocol === 'wss:', c.handshakeTimeoutMs);
  }
  return opts;
}
