// Firmware (SMBIOS/DMI) facts: system, BIOS and baseboard, as systeminformation's system(),
// bios() and baseboard() report them on Linux, field for field — but without their execSync
// shell commands (`cat` of /sys files, `ls /dev/disk/by-id`, `dmesg | grep`), which stopped the
// daemon's event loop for 0.1-0.4 s. The same sources are read with async file reads and the
// async process runner: dmidecode first (the agent runs as root, so it reads the tables, and its
// values win, "Not Specified" included), then /sys/devices/virtual/dmi/id for what it left empty.
// systeminformation's quirks are kept too (a BIOS date mm/dd/yyyy reads as dd/mm): any change
// would be an inventory diff on every node.
import { readdir, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { commandOutput, getValue, readText, under, type FactSources } from './fact-sources.ts';

export interface SystemFacts {
  manufacturer: string;
  model: string;
  version: string;
  serial: string;
  uuid: string;
  sku: string;
  virtual: boolean;
}

export interface BiosFacts {
  vendor: string;
  version: string;
  releaseDate: string;
  revision: string;
}

export interface BaseboardFacts {
  manufacturer: string;
  model: string;
  version: string;
  serial: string;
  assetTag: string;
}

const DMI_DIR = '/sys/devices/virtual/dmi/id';

function sources(o: FactSources) {
  const root = o.root ?? '/';
  const run = o.run ?? commandOutput;
  return {
    root,
    run,
    arch: o.arch ?? process.arch,
    kernelRelease: o.kernelRelease ?? release(),
    /** `dmidecode -t <type>` lines, in the C locale, as systeminformation reads them. */
    dmidecode: async (type: string) => (await run('dmidecode', ['-t', type], { LC_ALL: 'C' })).split('\n'),
    /** First line of each DMI file, trimmed; '' when missing or unreadable. */
    dmiFiles: async <K extends string>(names: readonly K[]): Promise<Record<K, string>> => {
      const texts = await Promise.all(names.map((n) => readText(under(root, `${DMI_DIR}/${n}`))));
      return Object.fromEntries(names.map((n, i) => [n, (texts[i] ?? '').split('\n')[0]!.trim()])) as Record<K, string>;
    },
    cpuinfo: async () => (await readText(under(root, '/proc/cpuinfo')))?.split('\n') ?? null,
  };
}

/** Placeholder strings vendors leave in DMI ("To Be Filled By O.E.M.", "Default string"). */
function cleanDefaults(s: string): string {
  const lower = s.toLowerCase();
  return lower.includes('o.e.m.') || lower.includes('default string') || lower === 'default' ? '' : s;
}

const pad2 = (s: string | undefined) => `0${s}`.slice(-2);

/** systeminformation's parseDateTime(dt).date with no culture: note mm/dd/yyyy reads as dd/mm. */
export function dmiDate(dt: string): string {
  const first = dt.split(' ')[0];
  let date = '';
  if (!first) return date;
  if (first.includes('/')) {
    const p = first.split('/');
    if (p.length === 3) {
      if (p[0]!.length === 4) date = `${p[0]}-${pad2(p[1])}-${pad2(p[2])}`;
      else if (p[2]!.length === 2) date = `20${p[2]}-${pad2(p[1])}-${pad2(p[0])}`;
      else if (/pm|p\.m\.|p\. m\.|am|a\.m\.|a\. m\./.test(dt.toLowerCase())) date = `${p[2]}-${pad2(p[0])}-${pad2(p[1])}`;
      else date = `${p[2]}-${pad2(p[1])}-${pad2(p[0])}`;
    }
  }
  if (first.includes('.')) {
    const p = first.split('.');
    if (p.length === 3) date = `${p[2]}-${pad2(p[1])}-${pad2(p[0])}`;
  }
  if (first.includes('-')) {
    const p = first.split('-');
    if (p.length === 3) date = `${p[0]}-${pad2(p[1])}-${pad2(p[2])}`;
  }
  return date;
}

const VIRTUAL_MODELS = new Set(['virtualbox', 'kvm', 'virtual machine', 'bochs']);
const exists = (path: string) => stat(path).then(() => true, () => false);

/** Hypervisor lines of the kernel log, as `grep -iE "virtual|hypervisor" | grep -iE "vmware|qemu|kvm|xen" | grep -viE …`. */
const hypervisorLine = (l: string) => /virtual|hypervisor/i.test(l) && /vmware|qemu|kvm|xen/i.test(l) && !/Nested Virtualization|\/virtual\//i.test(l);

export async function readSystemFacts(o: FactSources = {}): Promise<SystemFacts> {
  const s = sources(o);
  const [lines, sys] = await Promise.all([
    s.dmidecode('system'),
    s.dmiFiles(['product_name', 'product_serial', 'product_uuid', 'product_version', 'sys_vendor']),
  ]);
  const r: SystemFacts = {
    manufacturer: cleanDefaults(getValue(lines, 'manufacturer')),
    model: cleanDefaults(getValue(lines, 'product name')),
    version: cleanDefaults(getValue(lines, 'version')),
    serial: cleanDefaults(getValue(lines, 'serial number')),
    uuid: cleanDefaults(getValue(lines, 'uuid')).toLowerCase(),
    sku: cleanDefaults(getValue(lines, 'sku number')),
    virtual: false,
  };
  r.manufacturer = cleanDefaults(r.manufacturer || sys.sys_vendor);
  r.model = cleanDefaults(r.model || sys.product_name);
  r.version = cleanDefaults(r.version || sys.product_version);
  r.serial = cleanDefaults(r.serial || sys.product_serial) || '-';
  r.uuid = cleanDefaults(r.uuid || sys.product_uuid.toLowerCase());
  r.model ||= 'Computer';
  r.sku ||= '-';

  const model = r.model.toLowerCase();
  const maker = r.manufacturer.toLowerCase();
  if (VIRTUAL_MODELS.has(model) || model.startsWith('vmware') || model.startsWith('droplet')) r.virtual = true;
  if (maker.startsWith('vmware') || maker === 'xen') r.virtual = true;
  if (!r.virtual) {
    const ids = (await readdir(under(s.root, '/dev/disk/by-id')).catch(() => [])).join('\n');
    if (ids.includes('_QEMU_') || ids.includes('QEMU ') || ids.includes('_VBOX_')) r.virtual = true;
  }
  const kernel = s.kernelRelease.toLowerCase();
  if (!r.virtual && (kernel.includes('microsoft') || kernel.endsWith('wsl2'))) {
    Object.assign(r, { virtual: true, manufacturer: 'Microsoft', model: 'WSL', version: parseFloat(kernel) < 4.19 ? '1' : '2' });
  }
  if ((await exists(under(s.root, '/.dockerenv'))) || (await exists(under(s.root, '/.dockerinit')))) r.model = 'Docker Container';
  if ((await s.run('dmesg', [])).split('\n').some(hypervisorLine)) {
    if (r.model === 'Computer') r.model = 'Virtual machine';
    r.virtual = true;
  }

  // No DMI at all (ARM boards): the board named by /proc/cpuinfo, a Raspberry Pi by its revision.
  if (r.manufacturer === '' && r.model === 'Computer' && r.version === '') {
    const cpu = await s.cpuinfo();
    if (cpu) {
      r.model = getValue(cpu, 'hardware', ':', true).toUpperCase();
      r.version = getValue(cpu, 'revision', ':', true).toLowerCase();
      r.serial = getValue(cpu, 'serial', ':', true);
      const pi = await raspberryPi(cpu);
      if (pi) Object.assign(r, { model: pi.model, version: pi.revisionCode, manufacturer: 'Raspberry Pi Foundation' });
    }
  }
  return r;
}

const PI_SOCS = new Set(['BCM2708', 'BCM2709', 'BCM2710', 'BCM2711', 'BCM2712', 'BCM2835', 'BCM2836', 'BCM2837', 'BCM2837B0']);

/** A Pi's revision decoded by systeminformation's own tables (its isRaspberry() would use its cached /proc/cpuinfo, not these lines). */
async function raspberryPi(cpuinfo: string[]) {
  const hardware = getValue(cpuinfo, 'hardware');
  const model = getValue(cpuinfo, 'model');
  if (!PI_SOCS.has(hardware) && !model.includes('Raspberry Pi')) return null;
  return (await import('systeminformation/lib/util.js')).decodePiCpuinfo(cpuinfo);
}

export async function readBiosFacts(o: FactSources = {}): Promise<BiosFacts> {
  const s = sources(o);
  // On 32-bit ARM systeminformation greps /proc/cpuinfo for "Serial" instead: no BIOS lines.
  const [lines, sys] = await Promise.all([s.arch === 'arm' ? [] : s.dmidecode('bios'), s.dmiFiles(['bios_date', 'bios_vendor', 'bios_version'])]);
  const r: BiosFacts = {
    vendor: getValue(lines, 'Vendor'),
    version: getValue(lines, 'Version'),
    releaseDate: dmiDate(getValue(lines, 'Release Date')),
    revision: getValue(lines, 'BIOS Revision'),
  };
  r.vendor ||= sys.bios_vendor;
  r.version ||= sys.bios_version;
  r.releaseDate ||= dmiDate(sys.bios_date);
  return r;
}

export async function readBaseboardFacts(o: FactSources = {}): Promise<BaseboardFacts> {
  const s = sources(o);
  const [lines, sys, cpu] = await Promise.all([
    s.arch === 'arm' ? [] : s.dmidecode('2'),
    s.dmiFiles(['board_asset_tag', 'board_name', 'board_serial', 'board_vendor', 'board_version']),
    s.cpuinfo(),
  ]);
  const r: BaseboardFacts = {
    manufacturer: cleanDefaults(cleanDefaults(getValue(lines, 'Manufacturer')) || sys.board_vendor),
    model: cleanDefaults(cleanDefaults(getValue(lines, 'Product Name')) || sys.board_name),
    version: cleanDefaults(cleanDefaults(getValue(lines, 'Version')) || sys.board_version),
    serial: cleanDefaults(cleanDefaults(getValue(lines, 'Serial Number')) || sys.board_serial),
    assetTag: cleanDefaults(cleanDefaults(getValue(lines, 'Asset Tag')) || sys.board_asset_tag),
  };
  const pi = cpu ? await raspberryPi(cpu) : null;
  if (pi) Object.assign(r, { manufacturer: pi.manufacturer ?? '', model: 'Raspberry Pi', serial: pi.serial, version: `${pi.type} - ${pi.revision}` });
  return r;
}
