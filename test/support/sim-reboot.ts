// The reboot command of test nodes: plays the bootloader once (test/support/boot-simulator.ts)
// over the node's GRUB env (or U-Boot env given by its fw_env.config, written once per boot like
// U-Boot's saveenv) and records the slot it "booted". Usage: sim-reboot.ts GRUBENV|FW_ENV.CONFIG BOOTED_FILE
import { readFile } from 'node:fs/promises';
import { GrubEnv } from '../../agent/platform/bootenv/grub-env.ts';
import { UbootEnv } from '../../agent/platform/bootenv/uboot-env.ts';
import { simulateBoot } from './boot-simulator.ts';

const [envPath, bootedFile] = process.argv.slice(2);
if (!envPath || !bootedFile) {
  process.stderr.write('usage: sim-reboot.ts GRUBENV BOOTED_FILE\n');
  process.exit(2);
}
const env = envPath.endsWith('.config')
  ? new UbootEnv({ geometry: await readFile(envPath, 'utf8'), writeBoth: false })
  : new GrubEnv({ path: envPath });
const { booted } = await simulateBoot(env, { bootedSlotFile: bootedFile });
process.stdout.write(`booted ${booted ?? 'nothing'}\n`);
