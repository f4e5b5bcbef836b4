// Child of slot-device.test.ts, run inside its own mount namespace on a 1 MiB tmpfs: writes 4 KiB
// blocks to a sparse 4 MiB slot file there until the writer fails, then tries one more write.
// Prints what each step threw, as JSON.
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openSlotDevice } from '../../../../agent/platform/slots/slot-device.ts';

const path = join(process.argv[2]!, 'slot.img');
await writeFile(path, '');
await truncate(path, 4 << 20);
const w = await openSlotDevice({ name: 'A', slotClass: 'rootfs', path }).openWriter();
const codeOf = async (fn: () => Promise<void>) => fn().then(() => null, (err: { code?: string }) => err.code ?? String(err));
const first = await codeOf(async () => {
  for (let at = 0; at < 4 << 20; at += 4096) await w.write(at, randomBytes(4096));
  await w.finish();
});
const after = await codeOf(() => w.write(0, randomBytes(4096)));
await w.close();
process.stdout.write(JSON.stringify({ first, after }));
