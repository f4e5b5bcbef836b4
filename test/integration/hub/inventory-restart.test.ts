// The real agent process (real collector, a custom inventory script) against the reference hub
// process: restarting the agent with an unchanged inventory resends nothing; a changed script
// output is exactly one diff; restarting the hub with its state file resends nothing; a hub that
// lost its state gets a full inventory. The cron schedule is yearly here, so the only
// collections are the one at each agent start (no scheduled noise between the steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHubProcess, waitFor, type HubProcess } from '../../support/dev-hub.ts';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent, type AgentProcess } from './agent-process.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');

type Detail = { inventory: Record<string, unknown> | null; inventoryHash?: string; history: Array<{ type: string; mode?: string }> };

test('agent and hub restarts resend no unchanged inventory; a changed script output is one diff', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-inv-restart-'));
  await mkdir(join(dir, 'bundles'));
  const hubOpts = { store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--accept-all'] };
  let hub: HubProcess = await startHubProcess(hubOpts);
  const root = join(dir, 'node');
  await mkdir(join(root, 'inv.d'), { recursive: true });
  const valueFile = join(root, 'site-value');
  await writeFile(valueFile, 'A');
  await writeFile(join(root, 'inv.d', 'site'), `#!/bin/sh\necho "cabinet=$(cat '${valueFile}')"\n`);
  await chmod(join(root, 'inv.d', 'site'), 0o755);
  const config = await writeAgentConfig(root, hub.agentUrl, { deviceId: 'inv-r' }, {
    inventory: { scriptsDir: '/inv.d', schedule: '0 0 1 1 *', randomDelayS: 0 },
  });
  const ackFile = join(root, 'state', 'hub', 'inventory-ack.json');
  const acked = async () => JSON.parse(await readFile(ackFile, 'utf8').catch(() => '{}')).hash as string | undefined;
  const node = async () => (await hub.admin<Detail[]>('POST', '/admin/node', { node: 'inv-r' }))[0];
  const modes = async () => (await node())!.history.filter((h) => h.type === 'inventory').map((h) => h.mode);
  const logged = (a: AgentProcess, msg: string) => a.logs().filter((l) => l.msg === msg);
  /** The agent's inventory decision at connect: a report or "unchanged", then nothing in flight. */
  const connectDecided = (a: AgentProcess) =>
    waitFor('inventory decided at connect', () =>
      [...logged(a, 'inventory report'), ...logged(a, 'inventory unchanged')].find((l) => l.reason === 'connect'), 30_000);

  let agent = spawnAgent([BIN, 'run', '--config', config]);
  try {
    // First start: a full inventory, acknowledged, its hash on the node's disk.
    await waitFor('full inventory acknowledged', async () => {
      const n = await node();
      return n?.inventoryHash && n.inventoryHash === (await acked());
    }, 30_000);
    assert.deepEqual(await modes(), ['full']);
    assert.equal((await node())!.inventory!['custom.site.cabinet'], 'A');

    // Agent restart, nothing changed: it collects at connect and sends nothing.
    await agent.stop();
    agent = spawnAgent([BIN, 'run', '--config', config]);
    const decided = await connectDecided(agent);
    assert.equal(decided.msg, 'inventory unchanged', JSON.stringify(decided));
    assert.deepEqual(await modes(), ['full'], 'no inventory resent after the agent restart');

    // The script's output changes (seen at the next collection: here the next start): one diff.
    await agent.stop();
    await writeFile(valueFile, 'B');
    agent = spawnAgent([BIN, 'run', '--config', config]);
    await waitFor('diff applied at the hub', async () => (await node())?.inventory?.['custom.site.cabinet'] === 'B', 30_000);
    assert.deepEqual(await modes(), ['full', 'diff']);
    await waitFor('diff acknowledged', async () => (await acked()) === (await node())!.inventoryHash);

    // Hub restart with its state file: the agent reconnects; the hub holds its base; nothing is sent.
    await hub.stop();
    hub = await startHubProcess({ ...hubOpts, port: hub.port });
    await waitFor('agent compared its inventory with the restarted hub', () => logged(agent, 'inventory compared with the hub').length >= 2, 30_000);
    assert.equal(logged(agent, 'inventory compared with the hub')[1]!.inStep, true);
    assert.deepEqual(await modes(), ['full', 'diff'], 'no inventory resent after the hub restart');

    // Hub restart that lost its state: the auth result names no inventory; a full one follows.
    await hub.stop();
    for (const f of ['', '-wal', '-shm']) await rm(hubOpts.store + f, { force: true });
    hub = await startHubProcess({ ...hubOpts, port: hub.port });
    await waitFor('full inventory at the hub that lost its state', async () => (await node())?.inventory?.['custom.site.cabinet'] === 'B', 30_000);
    assert.deepEqual(await modes(), ['full']);
  } finally {
    await agent.stop();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
