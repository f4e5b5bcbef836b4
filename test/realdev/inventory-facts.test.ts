// The firmware and OS facts must keep the values systeminformation gave (a changed value is an
// inventory diff on every node after an upgrade). This machine has no DMI, so each case builds
// a machine: a private mount namespace and a chroot made of binds of / (without /.dockerenv,
// which turns every model into "Docker Container"), with prepared DMI files under /sys, release
// files, cpuinfo and EFI directory, and dmidecode / dmesg printing prepared output. Inside it,
// systeminformation itself is the reference. Mount points left behind are removed with rmdir
// only: nothing is deleted through a bind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rmdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const isRoot = process.getuid?.() === 0;
const CHILD = resolve(import.meta.dirname, 'inventory-facts-child.ts');

interface Machine {
  dmi?: Record<string, string>;
  dmidecode?: Partial<Record<'system' | 'bios' | '2', string>>;
  dmesg?: string;
  etc: Record<string, string>;
  usrLibOsRelease: string;
  cpuinfo?: string;
  efi?: boolean;
  /** A few values the prepared files must produce: a bind that silently failed would make both sides agree on nothing. */
  expect: Record<string, Record<string, unknown>>;
}

// Inside the namespace: bind every top-level directory but /etc, then the prepared files over the real ones.
const SETUP = `set -e
r=$1 f=$2 node=$3 child=$4
for x in /*; do
  n=\${x#/}
  [ "$n" = etc ] && continue
  if [ -L "$x" ]; then ln -s "$(readlink "$x")" "$r/$n"
  elif [ -d "$x" ]; then mkdir "$r/$n" && mount --rbind "$x" "$r/$n"
  fi
done
mkdir "$r/etc" && mount --bind "$f/etc" "$r/etc"
mount --bind "$f/dmi" "$r/sys/devices/virtual"
[ -e /usr/lib/os-release ] && mount --bind "$f/usr-lib-os-release" "$r/usr/lib/os-release"
[ -f "$f/cpuinfo" ] && mount --bind "$f/cpuinfo" "$r/proc/cpuinfo"
[ -d "$f/firmware" ] && mount --bind "$f/firmware" "$r/sys/firmware"
PATH="$f/bin:$PATH" exec chroot "$r" "$node" "$child"
`;

async function factsIn(m: Machine): Promise<{ ours: unknown; theirs: unknown }> {
  const dir = await mkdtemp(join(tmpdir(), 'inventory-facts-'));
  const f = join(dir, 'fixture');
  const r = join(dir, 'root');
  try {
    await mkdir(join(f, 'dmi/dmi/id'), { recursive: true });
    await mkdir(join(f, 'etc'));
    await mkdir(join(f, 'bin'));
    await mkdir(r);
    for (const [name, text] of Object.entries(m.dmi ?? {})) await writeFile(join(f, 'dmi/dmi/id', name), text);
    for (const [type, text] of Object.entries(m.dmidecode ?? {})) await writeFile(join(f, `dmidecode.${type}`), text);
    for (const [name, text] of Object.entries(m.etc)) await writeFile(join(f, 'etc', name), text);
    await writeFile(join(f, 'usr-lib-os-release'), m.usrLibOsRelease);
    await writeFile(join(f, 'dmesg.txt'), m.dmesg ?? '');
    if (m.cpuinfo !== undefined) await writeFile(join(f, 'cpuinfo'), m.cpuinfo);
    if (m.efi) await mkdir(join(f, 'firmware/efi'), { recursive: true });
    // Like dmidecode without SMBIOS when a type has no prepared output.
    await writeFile(join(f, 'bin/dmidecode'), `#!/bin/sh\n[ -f "${f}/dmidecode.$2" ] && exec cat "${f}/dmidecode.$2"\necho "# dmidecode 3.4"\necho "Scanning /dev/mem for entry point."\nexit 1\n`);
    await writeFile(join(f, 'bin/dmesg'), `#!/bin/sh\nexec cat "${f}/dmesg.txt"\n`);
    await chmod(join(f, 'bin/dmidecode'), 0o755);
    await chmod(join(f, 'bin/dmesg'), 0o755);
    const { stdout } = await promisify(execFile)('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SETUP, 'sh', r, f, process.execPath, CHILD], { timeout: 60_000 });
    return JSON.parse(stdout) as { ours: unknown; theirs: unknown };
  } finally {
    // The namespace is gone with its mounts: what is left under r are empty mount points and symlinks.
    for (const name of await readdir(r).catch(() => [])) {
      const p = join(r, name);
      if ((await lstat(p)).isSymbolicLink()) await unlink(p);
      else await rmdir(p);
    }
    await rmdir(r).catch(() => {});
    await rm(f, { recursive: true, force: true });
    await rmdir(dir);
  }
}

const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
const UBUNTU = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\n';
const dmidecode = (type: number, title: string, fields: Record<string, string>) =>
  `# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.2.0 present.\n\nHandle 0x0100, DMI type ${type}, 27 bytes\n${title}\n${Object.entries(fields).map(([k, v]) => `\t${k}: ${v}\n`).join('')}`;
const DELL_DMI = {
  sys_vendor: 'Dell Inc.\n', product_name: 'PowerEdge R640\n', product_version: '\n', bios_vendor: 'Dell Inc.\n', bios_version: '2.19.1\n', bios_date: '06/27/2023\n',
  board_vendor: 'Dell Inc.\n', board_name: '0H28RR\n', board_version: 'A07\n', board_asset_tag: '\n',
};

const MACHINES: Record<string, Machine> = {
  'server as root: dmidecode first, "Not Specified" kept, BIOS date read dd/mm': {
    dmi: { ...DELL_DMI, product_serial: '7XYZ123\n', product_uuid: '4c4c4544-0058-5910-805a-b7c04f313233\n', board_serial: '.7XYZ123.CNFCP0012A01AB.\n' },
    dmidecode: {
      system: dmidecode(1, 'System Information', {
        Manufacturer: 'Dell Inc.', 'Product Name': 'PowerEdge R640', Version: 'Not Specified', 'Serial Number': '7XYZ123',
        UUID: '4C4C4544-0058-5910-805A-B7C04F313233', 'Wake-up Type': 'Power Switch', 'SKU Number': 'SKU=NotProvided;ModelName=PowerEdge R640',
      }),
      bios: dmidecode(0, 'BIOS Information', { Vendor: 'Dell Inc.', Version: '2.19.1', 'Release Date': '06/27/2023', 'ROM Size': '64 MB', 'BIOS Revision': '2.19' }),
      2: dmidecode(2, 'Base Board Information', { Manufacturer: 'Dell Inc.', 'Product Name': '0H28RR', Version: 'A07', 'Serial Number': '.7XYZ123.CNFCP0012A01AB.' }),
    },
    etc: { 'os-release': DEBIAN }, usrLibOsRelease: DEBIAN,
    expect: { system: { model: 'PowerEdge R640', uuid: '4c4c4544-0058-5910-805a-b7c04f313233' }, bios: { releaseDate: '2023-27-06', revision: '2.19' }, os: { codename: 'bookworm' } },
  },
  'not root: /sys only, serials unreadable; LSB release file; booted by EFI': {
    dmi: DELL_DMI, efi: true,
    etc: { 'os-release': UBUNTU, 'lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n' }, usrLibOsRelease: UBUNTU,
    expect: { system: { serial: '-', uuid: '' }, baseboard: { model: '0H28RR' }, os: { release: '22.04.4 LTS', uefi: true } },
  },
  'placeholders (O.E.M., Default string) fall back to /sys or vanish; several release files': {
    dmi: { sys_vendor: 'Supermicro\n', board_asset_tag: 'Default string\n' },
    dmidecode: {
      system: dmidecode(1, 'System Information', { Manufacturer: 'To be filled by O.E.M.', 'Product Name': 'Super Server', 'Serial Number': '0123456789', 'SKU Number': 'To be filled by O.E.M.' }),
      2: dmidecode(2, 'Base Board Information', { Manufacturer: 'Supermicro', 'Product Name': 'X11SPL-F', 'Asset Tag': 'Default string' }),
    },
    etc: { 'os-release': 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n', 'redhat-release': 'Rocky Linux release 9.3 (Blue Onyx)\n', 'system-release': 'Rocky Linux release 9.3 (Blue Onyx)\n' },
    usrLibOsRelease: '',
    expect: { system: { manufacturer: 'Supermicro', sku: '-' }, baseboard: { assetTag: '' }, os: { distro: 'Rocky Linux', codename: 'Blue Onyx' } },
  },
  'a VM: KVM and EFI in the kernel log, no /sys EFI directory': {
    dmi: { sys_vendor: 'QEMU\n', product_name: 'Standard PC (Q35 + ICH9, 2009)\n' },
    dmidecode: { system: dmidecode(1, 'System Information', { Manufacturer: 'QEMU', 'Product Name': 'Standard PC (Q35 + ICH9, 2009)', 'Serial Number': 'Not Specified', 'SKU Number': 'Not Specified' }) },
    dmesg: '[    0.000000] Hypervisor detected: KVM\n[    0.000000] efi: EFI v2.7 by EDK II\n',
    etc: { 'os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n', 'alpine-release': '3.19.1\n' }, usrLibOsRelease: '',
    expect: { system: { virtual: true, serial: 'Not Specified' }, os: { release: 'v3.19', uefi: true } },
  },
  'no DMI at all, a hypervisor in the kernel log': {
    dmesg: '[    0.000000] Hypervisor detected: KVM\n', etc: { 'os-release': DEBIAN }, usrLibOsRelease: DEBIAN,
    expect: { system: { model: 'Virtual machine', virtual: true } },
  },
  'a Raspberry Pi: no DMI, the board from cpuinfo; an LSB file without a final newline': {
    cpuinfo: 'processor\t: 0\nBogoMIPS\t: 108.00\nCPU revision\t: 3\n\nHardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000abcdef01\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n',
    etc: { 'os-release': DEBIAN, 'lsb-release': 'DISTRIB_ID=Raspbian' }, usrLibOsRelease: DEBIAN,
    expect: { system: { manufacturer: 'Raspberry Pi Foundation', version: 'c03114' }, baseboard: { model: 'Raspberry Pi', version: '4B - 1.4' }, os: { distro: 'RaspbianPRETTY_NAME' } },
  },
};

for (const [name, machine] of Object.entries(MACHINES)) {
  test(name, { skip: !isRoot && 'needs root for mount namespaces and chroot' }, async () => {
    const { ours, theirs } = await factsIn(machine);
    assert.deepEqual(ours, theirs);
    for (const [section, values] of Object.entries(machine.expect)) {
      for (const [k, v] of Object.entries(values)) assert.deepEqual((ours as Record<string, Record<string, unknown>>)[section]![k], v, `${section}.${k}`);
    }
  });
}
