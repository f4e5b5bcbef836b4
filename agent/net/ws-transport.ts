// Builds the ws client options once from config: TLS trust and the optional client certificate
// (the same CA reader as downloads), the proxy tunnel (the same route decision and CONNECT as
// downloads, agent/net/proxy.ts), and the frame/compression limits.
import type { ClientOptions } from 'ws';
import { OutpostError } from '../../shared/errors.ts';
import { MAX_FRAME_BYTES } from '../../shared/protocol/limits.ts';
import { tunnelAgent } from './proxy.ts';
import { loadTlsMaterial } from './tls-options.ts';

export interface TransportConfig {
  url: string;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  /**
   * hub.trustPublicCAs: trust the public roots (OS store, Node's bundled ones) for the hub.
   * null/absent: only when no caFile is set — a private CA then stands alone, so a public CA
   * cannot vouch for a forged hub.
   */
  publicCas?: boolean | null;
  /** Where the link goes: `routeFor` of agent/net/proxy.ts (null: directly). */
  proxy: URL | null;
  handshakeTimeoutMs: number;
}

/** The hub.trustPublicCAs rule: explicit, else on only without a private CA. */
export function trustsPublicCas(c: Pick<TransportConfig, 'caFile' | 'publicCas'>): boolean {
  return c.publicCas ?? c.caFile === null;
}

export async function buildClientOptions(c: TransportConfig): Promise<ClientOptions> {
  let target: URL;
  try {
    target = new URL(c.url);
  } catch {
    throw new OutpostError('E_HUB_CONFIG', `hub.url is not a URL: ${c.url}`);
  }
  if (target.protocol !== 'wss:' && target.protocol !== 'ws:') throw new OutpostError('E_HUB_CONFIG', 'hub.url must be wss:// (or ws:// for tests)');
  if ((c.certFile === null) !== (c.keyFile === null)) throw new OutpostError('E_HUB_CONFIG', 'hub.certFile and hub.keyFile go together');
  const opts: ClientOptions = {
    maxPayload: MAX_FRAME_BYTES,
    // Reports are small JSON; compression costs memory per link and opens zip-bomb questions.
    perMessageDeflate: false,
    handshakeTimeout: c.handshakeTimeoutMs,
    followRedirects: false,
  };
  if (target.protocol === 'wss:') {
    const publicCas = trustsPublicCas(c);
    if (!publicCas && c.caFile === null) throw new OutpostError('E_HUB_TRUST', 'hub.trustPublicCAs is false and hub.caFile is null: no CA would be trusted for the hub');
    // Giving `ca` replaces Node's defaults, so every trusted CA is listed.
    const t = await loadTlsMaterial({ caFile: c.caFile, publicCas, clientCertFile: c.certFile, clientKeyFile: c.keyFile });
    opts.ca = [...t.ca];
    if (t.cert && t.key) {
      opts.cert = t.cert;
      opts.key = t.key;
    }
  }
  if (c.proxy) opts.agent = tunnelAgent(c.proxy, target.protocol === 'wss:', c.handshakeTimeoutMs);
  return opts;
}
