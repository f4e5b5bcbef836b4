// The demo node's files, as an installer would leave them: two file-backed slots with the
// factory image in A, a GRUB environment file, a booted-slot file playing the kernel command line,
// the trust store, a custom inventory script and the provisioned config (etc/outpost/config.json).
import { copyFile, mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createGrubEnvFile } from '../../agent/platform/bootenv/grub-env.ts';
import { setSlotRecord } from '../../agent/update/slot-records.ts';
import { REPO } from './run-cli.ts';

export interface NodeSetup {
  dir: string;
  deviceId: string;
  hubUrl: string;
  slotSize: number;
  /** Image already in slot A ("from the factory"), with its version. */
  factoryImage: { path: string; version: string; release: number };
  /** The trust document (root.json) the node ships with. */
  trustFile: string;
  compatible: string;
  /** Extra config sections (fetch windows, location survey). */
  extra: Record<string, unknown>;
  /** Node's compile cache, shared by the demo's nodes (default: DIR/compile-cache). */
  compileCache?: string;
}

export interface NodePaths {
  root: string;
  configPath: string;
  grubenv: string;
  /** What the "kernel command line" says: the slot the bootloader started. */
  bootedFile: string;
  /** Left by the node's reboot command (scripts/demo/reboot-request.ts). */
  rebootRequest: string;
}

/** Lays out the node's files and writes its provisioned config (as an installer would). */
export async function layOutNode(s: NodeSetup): Promise<NodePaths> {
  const r = join(s.dir, 'node');
  const paths: NodePaths = {
    root: r,
    configPath: join(r, 'etc/outpost/config.json'),
    grubenv: join(r, 'boot/grubenv'),
    bootedFile: join(r, 'run/outpost/booted-slot'),
    rebootRequest: join(r, 'run/reboot-requested'),
  };
  for (const d of ['slots', 'boot', 'run/outpost', 'etc/outpost/trust', 'var/lib/outpost/update']) await mkdir(join(r, d), { recursive: true });
  const slotPath = (name: string) => join(r, `slots/${name.toLowerCase()}.img`);
  for (const name of ['A', 'B']) {
    await writeFile(slotPath(name), '');
    await truncate(slotPath(name), s.slotSize);
  }
  // Factory state: version 1 in slot A, committed and first in the boot order.
  const image = await readFile(s.factoryImage.path);
  const fh = await open(slotPath('A'), 'r+');
  await fh.write(image, 0, image.length, 0).finally(() => fh.close());
  await setSlotRecord(join(r, 'var/lib/outpost/update'), 'A', {
    version: s.factoryImage.version, release: s.factoryImage.release, size: image.length,
    sha256: createHash('sha256').update(image).digest('hex'), installedAt: new Date().toISOString(), deployment: 'factory',
  });
  await createGrubEnvFile(paths.grubenv, { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '0', OUTPOST_A_GOOD: '1' });
  await copyFile(s.trustFile, join(r, 'etc/outpost/trust/root.json'));
  await mkdir(join(r, 'etc/outpost/inventory.d'));
  await writeFile(join(r, 'etc/outpost/inventory.d/rootfs'), rootfsInventoryScript(paths.bootedFile, slotPath), { mode: 0o755 });

  const config = {
    core: { root: r, stateDir: '/var/lib/outpost', logLevel: 'info' },
    hub: { url: s.hubUrl, deviceId: s.deviceId, backoffBaseMs: 200, backoffCapMs: 2000, pingIntervalMs: 10_000, healthDeadlineMs: 30_000 },
    inventory: { scriptsDir: '/etc/outpost/inventory.d', randomDelayS: 0 },
    update: {
      slots: ['A', 'B'].map((name) => ({ name, class: 'rootfs', path: `/slots/${name.toLowerCase()}.img`, kind: 'file' })),
      bootEnv: { kind: 'grub', path: '/boot/grubenv' },
      tries: 3,
      rebootCommand: [process.execPath, join(REPO, 'scripts/demo/reboot-request.ts'), paths.rebootRequest],
      // Generous: five agents, their health checks and reboots share a busy CI machine.
      rebootTimeoutMs: 60_000,
      healthChecks: [{
        name: 'app-selftest', timeoutMs: 60_000, command: process.execPath,
        args: [join(REPO, 'scripts/demo/health-check.ts'), paths.bootedFile, `A=${slotPath('A')}`, `B=${slotPath('B')}`],
      }],
      bootedSlot: { source: 'file', path: '/run/outpost/booted-slot' },
      checkpointBytes: 1 << 20,
    },
    bundle: { trustStore: '/etc/outpost/trust', floorFile: '/var/lib/outpost/release-floor', compatible: [s.compatible] },
    ...s.extra,
  };
  await writeFile(paths.configPath, JSON.stringify(config, null, 2) + '\n');
  return paths;
}

/**
 * A custom inventory script (`custom.rootfs.slot`, `custom.rootfs.version`): what the running
 * system is, as /etc/os-release would tell on a device, so the hub sees the version change.
 */
function rootfsInventoryScript(bootedFile: string, slotPath: (name: string) => string): string {
  return `#!/bin/sh
slot=$(cat '${bootedFile}')
case "$slot" in
  A) image='${slotPath('A')}' ;;
  B) image='${slotPath('B')}' ;;
  *) echo "slot=unknown"; exit 0 ;;
esac
echo "slot=$slot"
head -c 4096 "$image" | tr -d '\\000' | grep '^version='
`;
}
