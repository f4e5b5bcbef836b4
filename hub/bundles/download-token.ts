// Per-node download tokens. An offer's bundle URL carries `?t=<token>`; the token is an HMAC
// with the hub's secret over the node's fingerprint, the bundle id and an expiry, so a bundle is
// served only to the accepted node it was offered to, until the token expires, and the hub keeps
// no table of issued tokens. Revoking a node (or rejecting it) makes its tokens useless because
// the download also checks the node is still accepted.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  node: string;
  bundle: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function mac(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(`outpost-download-v1\n${payload}`).digest('base64url');
}

export function makeDownloadToken(secret: Buffer, c: TokenClaims): string {
  const payload = b64(`${c.node}\n${c.bundle}\n${c.exp}`);
  return `${payload}.${mac(secret, payload)}`;
}

/** The claims of a valid, unexpired token for `bundle`; null otherwise (never says why). */
export function checkDownloadToken(secret: Buffer, token: string, bundle: string, nowS: number = Math.floor(Date.now() / 1000)): TokenClaims | null {
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined || payload.length > 1024) return null;
  const want = Buffer.from(mac(secret, payload));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  const [node, b, exp] = Buffer.from(payload, 'base64url').toString('utf8').split('\n');
  if (!node || b !== bundle || !/^\d+$/.test(exp ?? '') || Number(exp) < nowS) return null;
  return { node, bundle: b, exp: Number(exp) };
}
