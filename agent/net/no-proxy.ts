// NO_PROXY matching as curl documents it: comma/space separated entries; "*" matches everything;
// "example.com" and ".example.com" match the host and its subdomains; an optional ":port" must
// match; CIDR ranges ("10.0.0.0/8", "fd00::/8") match IP addresses. agent/net/proxy.ts applies it
// to the hub link and to downloads alike.
import { BlockList, isIP } from 'node:net';

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.replace(/^\[|\](?=\/)/g, '').split('/');
  const bits = Number(bitsText);
  const family = isIP(net ?? '');
  if (family === 0 || family !== isIP(host) || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) return false;
  const range = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  range.addSubnet(net!, bits, type);
  return range.check(host, type);
}

export function parseNoProxy(value: string | null | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/** True when `url` must be fetched directly (not through the proxy). */
export function bypassesProxy(url: URL, noProxy: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
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
