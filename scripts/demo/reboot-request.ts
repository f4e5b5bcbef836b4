// The demo node's reboot command (update.rebootCommand). Like `systemctl reboot` it only asks
// for a reboot and returns; the demo sees the request file, stops the agent, plays the
// bootloader and starts the agent again (scripts/demo/node.ts).
// Usage: reboot-request.ts REQUEST_FILE
import { writeFileAtomic } from '../../agent/lib/atomic-file.ts';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: reboot-request.ts REQUEST_FILE\n');
  process.exit(2);
}
await writeFileAtomic(file, `${process.env.OUTPOST_REBOOT_REASON ?? 'reboot'}\n`);
