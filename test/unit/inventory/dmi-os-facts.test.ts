// Firmware, board and OS facts are read without systeminformation's execSync commands: on this
// machine they must equal what systeminformation reports, and on a prepared tree (dmidecode
// output, /sys DMI files, release files, cpuinfo) they must follow its rules — dmidecode first,
// placeholder strings dropped, /sys for what is left, the hypervisor and Raspberry Pi fallbacks.
// The Pi case comes last: systeminformation's Pi decoder caches the first cpuinfo it is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import si from 'systeminformation';
import { dmiDate, readBaseboardFacts, readBiosFacts, readSystemFacts } from '../../../agent/inventory/dmi-facts.ts';
import { parseRelease, readOsFacts } from '../../../agent/inventory/os-facts.ts';

const pick = <T extends object>(o: T, keys: readonly (keyof T)[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

test('on this machine: the same system, BIOS, baseboard and OS fields as systeminformation', async () => {
  const sys = ['manufacturer', 'model', 'serial', 'uuid', 'sku', 'virtual'] as const;
  assert.deepEqual(pick(await readSystemFacts(), sys), pick(await si.system(), sys));
  const bios = ['vendor', 'version', 'releaseDate', 'revision'] as const;
  assert.deepEqual(pick(await readBiosFacts(), bios), pick(await si.bios(), bios));
  const board = ['manufacturer', 'model', 'version', 'serial', 'assetTag'] as const;
  assert.deepEqual(pick(await readBaseboardFacts(), board), pick(await si.baseboard(), board));
  const os = ['platform', 'distro', 'release', 'codename', 'kernel', 'arch', 'hostname', 'uefi'] as const;
  assert.deepEqual(pick(await readOsFacts(), os), pick(await si.osInfo(), os));
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'dmi-os-facts-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    if (path.endsWith('/')) await mkdir(join(root, path), { recursive: true });
    else await writeFile(join(root, path), text);
  }
  return root;
}

/** What dmidecode and dmesg print on the prepared machine; every other command prints nothing. */
const commands = (out: Record<string, string>) => async (file: string, args: readonly string[]) => out[[file, ...args].join(' ')] ?? '';

const DMI = '/sys/devices/virtual/dmi/id';

test('from a prepared machine: dmidecode wins, placeholders fall back to /sys, dates and the hypervisor as systeminformation reads them', async () => {
  const root = await tree({
    [`${DMI}/sys_vendor`]: 'Sysfs Vendor\n', [`${DMI}/product_name`]: 'Sysfs Product\n', [`${DMI}/product_serial`]: 'SYS-SERIAL\n',
    [`${DMI}/product_uuid`]: '4C4C4544-0042-3510-8052-B7C04F4E4D32\n', [`${DMI}/product_version`]: '\n',
    [`${DMI}/bios_vendor`]: 'Sysfs BIOS\n', [`${DMI}/bios_version`]: '1.2.3\n', [`${DMI}/bios_date`]: '03/14/2023\n',
    [`${DMI}/board_vendor`]: 'Board Inc.\n', [`${DMI}/board_name`]: 'B-100\n', [`${DMI}/board_version`]: ' rev A \n',
    [`${DMI}/board_serial`]: 'BRD-1\n', [`${DMI}/board_asset_tag`]: 'Default string\n',
  });
  try {
    const run = commands({
      'dmidecode -t system': '# dmidecode 3.4\nHandle 0x0001, DMI type 1, 27 bytes\nSystem Information\n\tManufacturer: To Be Filled By O.E.M.\n'
        + '\tProduct Name: KVM\n\tVersion: pc-q35\n\tSerial Number: Not Specified\n\tUUID: 4C4C4544-0042-3510-8052-B7C04F4E4D32\n\tSKU Number: Not Specified\n',
      'dmidecode -t bios': 'BIOS Information\n\tVendor: SeaBIOS\n\tVersion: 1.16.2\n\tRelease Date: 04/01/2014\n\tBIOS Revision: 0.0\n',
      'dmidecode -t 2': 'Base Board Information\n\tManufacturer: Default string\n\tProduct Name: X570\n\tSerial Number: Not Specified\n',
    });
    const base = { root, run, arch: 'x64', kernelRelease: '6.1.0-18-amd64' };
    assert.deepEqual(await readSystemFacts(base), {
      manufacturer: 'Sysfs Vendor', model: 'KVM', version: 'pc-q35', serial: 'Not Specified', uuid: '4c4c4544-0042-3510-8052-b7c04f4e4d32', sku: 'Not Specified', virtual: true,
    });
    // mm/dd/yyyy without am/pm is read as dd/mm/yyyy by systeminformation: kept, or every node would report a change.
    assert.deepEqual(await readBiosFacts(base), { vendor: 'SeaBIOS', version: '1.16.2', releaseDate: '2014-01-04', revision: '0.0' });
    assert.deepEqual(await readBiosFacts({ ...base, run: commands({}) }), { vendor: 'Sysfs BIOS', version: '1.2.3', releaseDate: '2023-14-03', revision: '' });
    assert.deepEqual(await readBaseboardFacts(base), { manufacturer: 'Board Inc.', model: 'X570', version: 'rev A', serial: 'Not Specified', assetTag: '' });

    // No dmidecode output (not root, or no SMBIOS): /sys alone; a QEMU disk or a hypervisor line in the kernel log means virtual.
    const sysOnly = { ...base, run: commands({}) };
    assert.deepEqual(await readSystemFacts(sysOnly), {
      manufacturer: 'Sysfs Vendor', model: 'Sysfs Product', version: '', serial: 'SYS-SERIAL', uuid: '4c4c4544-0042-3510-8052-b7c04f4e4d32', sku: '-', virtual: false,
    });
    await mkdir(join(root, 'dev/disk/by-id'), { recursive: true });
    await writeFile(join(root, 'dev/disk/by-id/ata-QEMU_HARDDISK_QM00001'), '');
    assert.equal((await readSystemFacts(sysOnly)).virtual, false, '"_QEMU_" is what counts, not "QEMU_"');
    await writeFile(join(root, 'dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive0'), '');
    assert.equal((await readSystemFacts(sysOnly)).virtual, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  assert.equal(dmiDate('2023-3-7'), '2023-03-07');
  assert.equal(dmiDate('7.3.2023'), '2023-03-07');
  assert.equal(dmiDate('03/14/23'), '2023-14-03');
});

test('without DMI: "Computer", a Docker container, a hypervisor in the kernel log; WSL by its kernel', async () => {
  const root = await tree({ '/proc/cpuinfo': 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Xeon\n' });
  try {
    const bare = { root, run: commands({}), arch: 'x64', kernelRelease: '6.1.0' };
    // No DMI and nothing in cpuinfo: systeminformation's cpuinfo fallback leaves the model empty.
    assert.deepEqual(await readSystemFacts(bare), { manufacturer: '', model: '', version: '', serial: '', uuid: '', sku: '-', virtual: false });
    const kvm = commands({ dmesg: '[    0.000000] Hypervisor detected: KVM\n[    0.1] Booting paravirtualized kernel on KVM\n' });
    assert.deepEqual(pick(await readSystemFacts({ ...bare, run: kvm }), ['model', 'virtual']), { model: 'Virtual machine', virtual: true });
    const pvm = commands({ dmesg: '[    0.000000] Hypervisor detected: PVM\n[    0.2] kvm: Nested Virtualization enabled\n' });
    assert.equal((await readSystemFacts({ ...bare, run: pvm })).virtual, false);
    assert.deepEqual(pick(await readSystemFacts({ ...bare, kernelRelease: '5.15.153.1-microsoft-standard-WSL2' }), ['manufacturer', 'model', 'version', 'virtual']),
      { manufacturer: 'Microsoft', model: 'WSL', version: '2', virtual: true });
    await writeFile(join(root, '.dockerenv'), '');
    assert.equal((await readSystemFacts({ ...bare, run: kvm })).model, 'Docker Container');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('release files: later keys win, PRETTY_NAME gives the release and its codename, LSB overrides', async () => {
  assert.deepEqual(parseRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'),
    { distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm' });
  assert.deepEqual(parseRelease('DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\n'),
    { distro: 'Ubuntu', release: '22.04.4 LTS', codename: 'jammy' });
  assert.deepEqual(parseRelease('NAME=Alpine Linux\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'), { distro: 'Alpine Linux', release: 'v3.19', codename: '' });
  assert.deepEqual(parseRelease(''), { distro: 'unknown', release: 'unknown', codename: '' });

  const root = await tree({
    '/etc/lsb-release': 'DISTRIB_ID=Yocto\nDISTRIB_RELEASE=4.0',
    '/etc/os-release': 'NAME="Poky"\nVERSION_ID=4.0.17\n',
    '/usr/lib/os-release': 'NAME="Poky"\nVERSION_ID=4.0.17\n',
    '/sys/firmware/efi/': '',
  });
  try {
    // lsb-release has no final newline: like `cat`, its last line runs into os-release's first ("4.0NAME=…").
    const facts = await readOsFacts({ root, run: commands({}), kernelRelease: '6.6.21-yocto', arch: 'arm64', hostname: 'edge-7' });
    assert.deepEqual(facts, { platform: process.platform, distro: 'Yocto', release: '4.0NAME', codename: '', kernel: '6.6.21-yocto', arch: 'arm64', hostname: 'edge-7', uefi: true });
    await rm(join(root, 'sys/firmware/efi'), { recursive: true });
    assert.equal((await readOsFacts({ root, run: commands({ dmesg: '[0.0] efi: EFI v2.7 by EDK II\n' }) })).uefi, true);
    assert.equal((await readOsFacts({ root, run: commands({ dmesg: '[0.0] efi: no EFI\n' }) })).uefi, false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a Raspberry Pi without DMI: model and revision from cpuinfo, decoded by systeminformation\'s tables', async () => {
  const root = await tree({
    '/proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 108.00\nCPU revision\t: 3\n\nHardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000abcdef01\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n',
  });
  try {
    const pi = { root, run: commands({}), arch: 'arm64', kernelRelease: '6.6.31+rpt-rpi-v8' };
    assert.deepEqual(await readSystemFacts(pi), {
      manufacturer: 'Raspberry Pi Foundation', model: 'Raspberry Pi 4 Model B Rev 1.4', version: 'c03114', serial: '10000000abcdef01', uuid: '', sku: '-', virtual: false,
    });
    assert.deepEqual(await readBaseboardFacts(pi), { manufacturer: 'Sony UK', model: 'Raspberry Pi', version: '4B - 1.4', serial: '10000000abcdef01', assetTag: '' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
