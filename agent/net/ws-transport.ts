// Builds the ws client options once from config: TLS trust and the optional client certificate
// (the same CA reader as downloads), the proxy tunnel (the same route decision and CONNECT as
// downloads, agent/net/proxy.ts), and the frame/compression limits.
import type { ClientOptions } from 'ws';
import { AgentError } from '../lib/errors.ts';
import { MAX_FRAME_BYTES } from '../../shared/protocol/limits.ts';
import { tunnelAgent } from './proxy.ts';
import { loadTlsMaterial } from './tls-options.ts';

export interface TransportConfig {
  url: string;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  /** Where the link goes: `routeFor` of agent/net/proxy.ts (null: directly). */
  proxy: URL | null;
  handshakeTimeoutMs: number;
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
    // The public roots and the configured CA (giving `ca` replaces the defaults, so all are listed).
    const t = await loadTlsMaterial({ caFile: c.caFile, publicCas: true, clientCertFile: c.certFile, clientKeyFile: c.keyFile });
    opts.ca = [...t.ca];
    if (t.cert && t.key) {
      opts.cert = t.cert;
      opts.key = t.key;
    }
  }
  if (c.proxy) opts.agent = tunnelAgent(c.proxy, target.protocol === 'wss:', c.handshakeTimeoutMs);
  return opts;
}
