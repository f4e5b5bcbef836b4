// The write handler lets a format-2 head's memory go once head.bin is written: the install reads
// its index back from there (index-pages.ts), and still writes the image it verified.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadConfig, rootPath } from '../../../agent/config/load.ts';
import { createUpdateApp } from '../../../agent/app/update-app.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { VerifiedHead } from '../../../agent/bundle/types.ts';

const kit = await makeKit({ imageSize: 2 << 20, blockSize: 4096, format: 2 });
const node = await TestNode.create({ kit, slotSize: 4 << 20 });
after(async () => {
  await node.dispose();
  await kit.dispose();
});

test('a format-2 install reads its index from head.bin once it is written, and writes the verified image', async () => {
  const config = await loadConfig(node.configPath);
  const trust = await loadTrustStore(rootPath(config, config.bundle.trustStore));
  const verifier = createVerifier({ trust, releaseFloor: 0, compatible: config.bundle.compatible });
  const heads: VerifiedHead[] = [];
  const { service } = await createUpdateApp(config, { logger: silentLogger(), verifier, releaseFloor: null, sourceFor: () => null, onVerifiedHead: (h) => void heads.push(h) });
  await service.start(fileSource(kit.bundle));
  assert.equal(heads.length, 1);
  const head = heads[0]!;
  assert.equal(head.manifest.format, 2);
  assert.ok(head.payloads[0]!.stored!.paged, 'the index is still held in memory');
  assert.ok(head.headBytes.equals(await readFile(join(node.stateDir, 'update/head.bin'))));
  assert.equal(await node.reboot(), 'B');
  assert.equal(await node.holds('B'), 'new');
});
