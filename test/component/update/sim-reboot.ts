// The reboot command of test nodes: plays the bootloader once (test/support/boot-simulator.ts)
// over the node's GRUB env and records the slot it "booted". Usage: sim-reboot.ts GRUBENV BOOTED_FILE
import { GrubEnv } from '../../../agent/platform/bootenv/grub-env.ts';
import { simulateBoot } from '../../support/boot-simulator.ts';

const [envPath, bootedFile] = process.argv.slice(2);
if (!envPath || !bootedFile) {
  process.stderr.write('usage: sim-reboot.ts GRUBENV BOOTED_FILE\n');
  process.exit(2);
}
const { booted } = await simulateBoot(new GrubEnv({ path: envPath }), { bootedSlotFile: bootedFile });
process.stdout.write(`booted ${booted ?? 'nothing'}\n`);
