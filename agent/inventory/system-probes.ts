// Targeted systeminformation calls, one per section (never getAllData: it runs dozens of
// commands a node does not need); firmware, board, OS and network facts are read by our own
// modules instead, with the same values, since systeminformation reads those with execSync.
// Arrays become objects keyed by a stable name (device, mount, interface) so a diff touches one
// disk or interface, not the whole list. Values that change on every run go to `volatile`.
import { uptime } from 'node:os';
import type Systeminformation from 'systeminformation';
import { readBaseboardFacts, readBiosFacts, readSystemFacts } from './dmi-facts.ts';
import { readNetInterfaces } from './net-interfaces.ts';
import { readOsFacts } from './os-facts.ts';
import type { JsonObject, JsonValue } from './types.ts';

// systeminformation evaluates ~20 modules (and child_process, os, net) when loaded: it is loaded
// at the first probe, after the daemon's hub link is up, not at every command's start.
let loading: Promise<typeof Systeminformation> | undefined;
function sysinfo(): Promise<typeof Systeminformation> {
  return (loading ??= import('systeminformation').then((m) => m.default));
}

export interface ProbeResult {
  facts?: JsonObject;
  volatile?: JsonObject;
}

export interface Probe {
  /** Source name used in `errors` (and usually the section it fills). */
  readonly name: string;
  /** Cannot change while the system runs (firmware, board, CPU): collected once per process. */
  readonly bootStatic?: boolean;
  run(): Promise<ProbeResult>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : v == null ? '' : String(v));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** systeminformation uses 0 or -1 for "unknown" in speeds. */
const positive = (v: unknown): number | null => {
  const n = num(v);
  return n !== null && n > 0 ? n : null;
};
/** Loop and RAM disks come and go with mounts and tests; they are not the node's hardware. */
const isTransientBlockDevice = (name: string) => /^(loop|ram)\d/.test(name);
/** systeminformation reports "-" or "" for unknown strings; both mean "unknown". */
const known = (v: unknown): string | null => {
  const s = str(v);
  return s === '' || s === '-' ? null : s;
};

function keyed<T>(items: readonly T[], key: (t: T) => string, map: (t: T) => JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const item of items) {
    const k = key(item);
    if (k) out[k] = map(item);
  }
  return out;
}

export const SYSTEM_PROBES: readonly Probe[] = [
  {
    name: 'system',
    bootStatic: true,
    run: async () => {
      const s = await readSystemFacts();
      return {
        facts: {
          system: { manufacturer: known(s.manufacturer), model: known(s.model), serial: known(s.serial), uuid: known(s.uuid), sku: known(s.sku), virtual: s.virtual },
        },
      };
    },
  },
  {
    name: 'bios',
    bootStatic: true,
    run: async () => {
      const b = await readBiosFacts();
      return { facts: { bios: { vendor: known(b.vendor), version: known(b.version), releaseDate: known(b.releaseDate), revision: known(b.revision) } } };
    },
  },
  {
    name: 'baseboard',
    bootStatic: true,
    run: async () => {
      const b = await readBaseboardFacts();
      return {
        facts: { baseboard: { manufacturer: known(b.manufacturer), model: known(b.model), version: known(b.version), serial: known(b.serial), assetTag: known(b.assetTag) } },
      };
    },
  },
  {
    name: 'cpu',
    bootStatic: true,
    run: async () => {
      const c = await (await sysinfo()).cpu();
      return {
        facts: {
          cpu: {
            manufacturer: known(c.manufacturer), brand: known(c.brand), family: known(c.family), model: known(c.model), stepping: known(c.stepping),
            cores: c.cores, physicalCores: c.physicalCores, processors: c.processors, speedMaxGHz: positive(c.speedMax) ?? positive(c.speed),
          },
        },
      };
    },
  },
  {
    name: 'memory',
    run: async () => {
      const m = await (await sysinfo()).mem();
      return { facts: { memory: { totalBytes: m.total, swapTotalBytes: m.swaptotal } }, volatile: { memAvailableBytes: m.available } };
    },
  },
  {
    name: 'os',
    run: async () => {
      const o = await readOsFacts();
      return {
        facts: {
          os: { platform: str(o.platform), distro: known(o.distro), release: known(o.release), codename: known(o.codename), kernel: known(o.kernel), arch: str(o.arch), hostname: known(o.hostname), uefi: o.uefi },
        },
      };
    },
  },
  {
    name: 'disks',
    run: async () => {
      const d = (await (await sysinfo()).diskLayout()).filter((x) => !isTransientBlockDevice(str(x.device).replace('/dev/', '')));
      return {
        facts: {
          disks: keyed(d, (x) => str(x.device) || str(x.name), (x) => ({
            type: known(x.type), name: known(x.name), vendor: known(x.vendor), sizeBytes: num(x.size), serial: known(x.serialNum),
            interfaceType: known(x.interfaceType), firmware: known(x.firmwareRevision),
          })),
        },
      };
    },
  },
  {
    name: 'blockDevices',
    run: async () => {
      const b = (await (await sysinfo()).blockDevices()).filter((x) => !isTransientBlockDevice(str(x.name)));
      return {
        facts: {
          blockDevices: keyed(b, (x) => str(x.name), (x) => ({
            type: known(x.type), fsType: known(x.fsType), mount: known(x.mount), sizeBytes: num(x.size), label: known(x.label), uuid: known(x.uuid),
            model: known(x.model), serial: known(x.serial), removable: x.removable ?? null,
          })),
        },
      };
    },
  },
  {
    name: 'filesystems',
    run: async () => {
      const f = await (await sysinfo()).fsSize();
      // Usage rounded to whole percent: a meaningful change, not churn on every log line.
      return {
        facts: {
          filesystems: keyed(f, (x) => str(x.mount), (x) => ({ device: known(x.fs), type: known(x.type), sizeBytes: num(x.size), usedPercent: Math.round(num(x.use) ?? 0), rw: x.rw ?? null })),
        },
      };
    },
  },
  {
    name: 'network',
    run: async () => ({
      facts: {
        network: keyed(await readNetInterfaces(), (n) => n.iface, ({ iface: _iface, ...n }) => ({ ...n, addresses: n.addresses as JsonValue })),
      },
    }),
  },
  {
    name: 'temperature',
    run: async () => {
      const t = await (await sysinfo()).cpuTemperature();
      return { volatile: { temperatureC: { main: num(t.main), max: num(t.max), cores: (t.cores ?? []).map(num) } } };
    },
  },
  {
    name: 'uptime',
    // os.uptime() is what systeminformation's time() returns, after an execSync of `date` for
    // time zone fields the inventory does not report.
    run: async () => ({ volatile: { uptimeS: Math.round(uptime()) } }),
  },
];
