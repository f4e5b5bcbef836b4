// A node on plain files for CLI tests: slots A and B, a GRUB env with A first and good, A booted,
// an empty trust store, and the config naming them (no hub, no gpsd, `true` as reboot command).
// Tests add keys, bundles and config keys of their own on top.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGrubEnvFile } from '../../agent/platform/bootenv/grub-env.ts';

// Tests break and extend it freely, so it is loosely typed on purpose.
export type NodeConfig = Record<string, any>;

/** Makes the files under `root` (created if missing); slots are `slotBytes` of zeros. */
export async function makeFileNode(root: string, o: { slotBytes?: number } = {}): Promise<void> {
  for (const d of ['slots', 'boot', 'run', 'trust', 'state']) await mkdir(join(root, d), { recursive: true });
  const size = o.slotBytes ?? 4 << 20;
  await writeFile(join(root, 'slots/a.img'), Buffer.alloc(size));
  await writeFile(join(root, 'slots/b.img'), Buffer.alloc(size));
  await createGrubEnvFile(join(root, 'boot/grubenv'), { BOOT_ORDER: 'A', OUTPOST_A_GOOD: '1' });
  await writeFile(join(root, 'run/booted-slot'), 'A\n');
}

/** The config of a node made by makeFileNode(root), every path inside `root`. */
export function fileNodeConfig(root: string, compatible = 'board'): NodeConfig {
  return {
    core: { root, stateDir: '/state' },
    update: {
      slots: [{ name: 'A', class: 'rootfs', path: '/slots/a.img' }, { name: 'B', class: 'rootfs', path: '/slots/b.img' }],
      bootEnv: { kind: 'grub', path: '/boot/grubenv' },
      bootedSlot: { source: 'file', path: '/run/booted-slot' },
      rebootCommand: ['true'],
    },
    bundle: { trustStore: '/trust', floorFile: '/state/release-floor', compatible: [compatible] },
    location: { gpsd: false },
  };
}
