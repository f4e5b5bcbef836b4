// Network interfaces as the kernel describes them (/sys/class/net, /proc/net/route), read with
// async file reads. systeminformation's networkInterfaces() runs shell commands with execSync
// (`ip`, `cat`, and per interface four `nmcli` calls where NetworkManager runs), each of which
// stops the daemon's event loop — hub link included — at every inventory.
import { readFile, readlink, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

export interface NetInterface {
  iface: string;
  /** Lowercase colon form; null when the interface has none (tun, wireguard). */
  mac: string | null;
  /** Every address, CIDR form, sorted. */
  addresses: string[];
  speedMbps: number | null;
  operstate: string | null;
  /** 'wired' | 'wireless' while up, 'virtual' for bonds, 'unknown' while not up (as before). */
  type: string;
  mtu: number | null;
  /** Carries the default route (IPv4, else IPv6). */
  default: boolean;
  /** Not backed by a device: bridges, veth, tun, bonds, wireguard (the kernel's /devices/virtual). */
  virtual: boolean;
}

const text = (path: string): Promise<string | null> => readFile(path, 'utf8').then((s) => s.trim(), () => null);
const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** Interfaces with an address (loopback left out), as os.networkInterfaces() lists them. */
export async function readNetInterfaces(o: { sysRoot?: string; procRoot?: string; interfaces?: ReturnType<typeof networkInterfaces> } = {}): Promise<NetInterface[]> {
  const { sysRoot = '/sys/class/net', procRoot = '/proc/net', interfaces: all = networkInterfaces() } = o;
  const defaults = await defaultRouteInterfaces(procRoot);
  const names = Object.keys(all).filter((n) => !(all[n] ?? []).every((a) => a.internal)).sort();
  return Promise.all(names.map(async (iface): Promise<NetInterface> => {
    const dir = join(sysRoot, iface);
    const [address, speed, operstate, mtu, link, wireless] = await Promise.all([
      text(join(dir, 'address')), text(join(dir, 'speed')), text(join(dir, 'operstate')), text(join(dir, 'mtu')),
      readlink(dir).catch(() => ''), exists(join(dir, 'wireless')),
    ]);
    const speedMbps = speed === null ? NaN : Number(speed);
    const mtuN = mtu === null ? NaN : Number(mtu);
    const up = operstate === 'up';
    return {
      iface,
      mac: address && /[1-9a-f]/i.test(address) ? address.toLowerCase() : null,
      addresses: (all[iface] ?? []).map((a) => a.cidr ?? a.address).sort(),
      speedMbps: Number.isFinite(speedMbps) && speedMbps > 0 ? speedMbps : null,
      operstate: operstate || null,
      type: iface.startsWith('bond') ? 'virtual' : up ? (wireless ? 'wireless' : 'wired') : 'unknown',
      mtu: Number.isFinite(mtuN) ? mtuN : null,
      default: defaults.has(iface),
      virtual: link.includes('/devices/virtual/'),
    };
  }));
}

/** The interfaces of the lowest-metric default route: IPv4 if there is one, else IPv6. */
async function defaultRouteInterfaces(procRoot: string): Promise<Set<string>> {
  const pick = (rows: Array<{ iface: string; metric: number }>) => {
    const best = Math.min(...rows.map((r) => r.metric));
    return new Set(rows.filter((r) => r.metric === best).map((r) => r.iface));
  };
  // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask …, hex, header line first.
  const v4 = ((await text(join(procRoot, 'route'))) ?? '').split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[1] === '00000000' && f[7] === '00000000' && (parseInt(f[3]!, 16) & 1) === 1)
    .map((f) => ({ iface: f[0]!, metric: Number(f[6]) }));
  if (v4.length) return pick(v4);
  // /proc/net/ipv6_route: dest prefixlen src srclen nexthop metric refcnt use flags iface.
  const v6 = ((await text(join(procRoot, 'ipv6_route'))) ?? '').split('\n').map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && /^0{32}$/.test(f[0]!) && f[1] === '00' && f[9] !== 'lo' && (parseInt(f[8]!, 16) & 1) === 1)
    .map((f) => ({ iface: f[9]!, metric: parseInt(f[5]!, 16) }));
  return v6.length ? pick(v6) : new Set();
}
