// Regression: a hub offering bundle after failing bundle filled the state partition with
// per-deployment records (update/deployments/<id>.json|.log were never pruned).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { faultyService } from './custom-service.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { KEEP_DEPLOYMENT_RECORDS, checkStateSpace } from '../../../agent/update/state-space.ts';
import { isOutpostError } from '../../../shared/errors.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
let node: TestNode;
before(async () => {
  kit = await makeKit({ imageSize: 256 << 10, blockSize: 64 << 10 });
  node = await TestNode.create({ kit, slotSize: 1 << 20 });
});
after(async () => {
  await node.dispose();
  await kit.dispose();
});

test(`only the last ${KEEP_DEPLOYMENT_RECORDS} deployment records and logs are kept`, async () => {
  const garbage = join(node.dir, 'garbage.bundle');
  await writeFile(garbage, Buffer.alloc(4096, 7));
  const service = await faultyService(node);
  const n = KEEP_DEPLOYMENT_RECORDS + 8;
  for (let i = 0; i < n; i++) {
    const r = await service.start(fileSource(garbage), { id: `d-${String(i).padStart(3, '0')}` });
    assert.equal(r.kind === 'outcome' && r.outcome, 'failed');
  }
  const files = await readdir(join(node.stateDir, 'update/deployments'));
  const ids = new Set(files.map((f) => f.replace(/\.(json|log)$/, '')));
  assert.equal(ids.size, KEEP_DEPLOYMENT_RECORDS, files.join());
  assert.ok(ids.has(`d-${String(n - 1).padStart(3, '0')}`), 'the newest is kept');
  assert.ok(!ids.has('d-000'), 'the oldest went');
});

test('a state dir without room refuses a new deployment with E_STATE_NO_SPACE before journalling', async () => {
  await assert.rejects(checkStateSpace(node.stateDir, Number.MAX_SAFE_INTEGER), (e) => isOutpostError(e, 'E_STATE_NO_SPACE') && e.retryable);
  await checkStateSpace(node.stateDir, 1);
});
