// Run by inventory-facts.test.ts inside its prepared chroot: the agent's firmware and OS facts
// and systeminformation's, for the fields the inventory reports, as one JSON line.
import si from 'systeminformation';
import { readBaseboardFacts, readBiosFacts, readSystemFacts } from '../../agent/inventory/dmi-facts.ts';
import { readOsFacts } from '../../agent/inventory/os-facts.ts';

const FIELDS = {
  system: ['manufacturer', 'model', 'version', 'serial', 'uuid', 'sku', 'virtual'],
  bios: ['vendor', 'version', 'releaseDate', 'revision'],
  baseboard: ['manufacturer', 'model', 'version', 'serial', 'assetTag'],
  os: ['platform', 'distro', 'release', 'codename', 'kernel', 'arch', 'hostname', 'uefi'],
} as const;

const pick = (o: object, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));

const [system, bios, baseboard, os] = await Promise.all([readSystemFacts(), readBiosFacts(), readBaseboardFacts(), readOsFacts()]);
const out = {
  ours: { system: pick(system, FIELDS.system), bios: pick(bios, FIELDS.bios), baseboard: pick(baseboard, FIELDS.baseboard), os: pick(os, FIELDS.os) },
  theirs: {
    system: pick(await si.system(), FIELDS.system),
    bios: pick(await si.bios(), FIELDS.bios),
    baseboard: pick(await si.baseboard(), FIELDS.baseboard),
    os: pick(await si.osInfo(), FIELDS.os),
  },
};
process.stdout.write(`${JSON.stringify(out)}\n`);
