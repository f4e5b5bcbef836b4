// Child process for memory.test.ts: creates or verifies one bundle and prints its peak RSS.
import { createReadStream } from 'node:fs';
import { createBundle } from '../../../shared/bundle/create.ts';
import { readBundle } from '../../../agent/bundle/reader.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { readSigningKey } from '../../../agent/bundle/key-files.ts';

const [mode, a, b, c] = process.argv.slice(2) as [string, string, string, string];
let payloadBytes = 0;
if (mode === 'create') {
  await createBundle({
    payloads: [{ path: a, name: 'rootfs.img', slotClass: 'rootfs', blockSize: 1 << 20 }],
    version: '1', release: 1, compatible: ['mem'], keys: [await readSigningKey(c)], out: b,
  });
} else if (mode === 'verify') {
  const trust = await loadTrustStore(b);
  await readBundle(createReadStream(a), { trust, releaseFloor: 0, compatible: ['mem'] }, {
    async begin() {},
    async block(_p, _i, data) {
      payloadBytes += data.length;
    },
    async end() {},
  });
}
process.stdout.write(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, payloadBytes }) + '\n');
