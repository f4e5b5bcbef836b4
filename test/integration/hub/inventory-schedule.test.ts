// Inventory over the real agent process: a full report at start, then diffs driven by the
// inventory section's cron schedule, with a custom inventory script whose value changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHubProcess, waitFor } from '../../support/dev-hub.ts';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent } from './agent-process.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');

test('full inventory first, then a diff on each cron tick where something changed', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-inv-'));
  await mkdir(join(dir, 'bundles'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--accept-all'] });
  const root = join(dir, 'node');
  await mkdir(join(root, 'inv.d'), { recursive: true });
  await writeFile(join(root, 'inv.d', 'clock'), '#!/bin/sh\necho "tick=$(date +%s%N)"\n');
  await chmod(join(root, 'inv.d', 'clock'), 0o755);
  const config = await writeAgentConfig(root, hub.agentUrl, { deviceId: 'inv-1' }, {
    inventory: { scriptsDir: '/inv.d', schedule: '* * * * * *', randomDelayS: 0 },
    location: { gpsd: false },
  });
  const agent = spawnAgent([BIN, 'run', '--config', config]);
  try {
    type Detail = { history: Array<{ type: string }>; inventory: Record<string, unknown> };
    const d = await waitFor('three inventory reports', async () => {
      const [n] = await hub.admin<Detail[]>('POST', '/admin/node', { node: 'inv-1' });
      return n && n.history.filter((h) => h.type === 'inventory').length >= 3 ? n : null;
    }, 180_000);
    assert.match(String(d.inventory['custom.clock.tick']), /^\d+$/);
    assert.ok(d.inventory['agent.version'], 'diffs were applied on top of the full report');
  } finally {
    await agent.stop();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
