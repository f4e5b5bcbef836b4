// Pending enrolments are capped (a flood of unknown keys cannot grow the hub's store) and
// expire; the refused key is told why with a stable code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../hub/store/open.ts';
import { startHub } from '../../hub/app.ts';
import { silentLogger } from '../../agent/log/logger.ts';
import { waitFor } from '../support/dev-hub.ts';
import { startAgent } from './agents.ts';

test('beyond pendingMax a new key is refused (E_AUTH_PENDING_FULL); expired enrolments are pruned', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-enrol-'));
  await mkdir(join(dir, 'bundles'));
  const store = await openStore({ url: `sqlite:${join(dir, 'hub.db')}`, limits: { pendingMax: 3, pendingTtlMs: 60_000 } });
  const hub = await startHub({ store, host: '127.0.0.1', port: 0, bundlesDir: join(dir, 'bundles'), pendingRetryS: 1, log: silentLogger() });
  const agents = [];
  try {
    for (let i = 0; i < 3; i++) agents.push(await startAgent({ url: hub.agentUrl, dir, deviceId: `p-${i}` }));
    await waitFor('three pending', async () => (await store.listNodes({ status: 'pending' })).total === 3);
    const late = await startAgent({ url: hub.agentUrl, dir, deviceId: 'p-late' });
    agents.push(late);
    const line = await waitFor('refused', () => late.lines.find((l) => l.msg === 'hub rejected this node'));
    assert.equal(line.code, 'E_AUTH_PENDING_FULL');
    assert.equal((await store.listNodes({ status: 'pending' })).total, 3, 'nothing stored for it');
    for (const a of agents) await a.stop();
    // A day later none of them came back: pruning forgets them and the queue has room again.
    const pruned = await store.pruneHistory(Date.now() + 61_000);
    assert.equal(pruned.pendingNodes, 3);
    assert.equal((await store.listNodes({ status: 'pending' })).total, 0);
  } finally {
    for (const a of agents) await a.stop();
    await hub.close();
    await store.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
});
