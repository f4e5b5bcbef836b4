// NO_PROXY matching with the conventions curl and most tools share: comma/space separated
// entries; "*" matches everything; "example.com" and ".example.com" match the host and its
// subdomains; an optional ":port" must match; IPv4 CIDR ranges ("10.0.0.0/8") are allowed.
import { isIPv4 } from 'node:net';

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!net || !isIPv4(net) || !isIPv4(host) || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(host) & mask) === (ipv4ToInt(net) & mask);
}

export function parseNoProxy(value: string | null | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/** True when `url` must be fetched directly (not through the proxy). */
export function bypassesProxy(url: URL, noProxy: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy) {
    if (raw === '*') return true;
    if (raw.includes('/')) {
      if (inCidr(host, raw)) return true;
      continue;
    }
    // "[v6]:port", bare "v6" (two or more colons), or "host[:port]".
    const m = raw.startsWith('[') ? /^\[([^\]]+)\](?::(\d+))?$/.exec(raw) : raw.split(':').length > 2 ? [raw, raw, undefined] : /^(.*?)(?::(\d+))?$/.exec(raw);
    if (!m) continue;
    const entryHost = m[1]!.replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === entryHost || host.endsWith('.' + entryHost)) return true;
  }
  return false;
}
