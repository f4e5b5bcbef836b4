// End to end with no fakes: the reference hub offers a real signed bundle; the agent process
// (`outpost run`) downloads it from the hub over HTTP, writes slot B, arms the boot env and
// "reboots" (the boot simulator); restarted as after a reboot, it checks health — including
// "hub reachable" — commits, and the hub receives every state and the outcome, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHubProcess, waitFor, type HubProcess } from '../../support/dev-hub.ts';
import { spawnAgent, type AgentProcess } from './agent-process.ts';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
let dir: string;
let kit: Awaited<ReturnType<typeof makeKit>>;
let node: TestNode;
let hub: HubProcess;
let agent: AgentProcess | null = null;

interface Detail {
  history: Array<{ seq: number; type: string }>;
  deployment: { id: string; state: string | null; outcome: { result: string; log: string } | null } | null;
  acks: Array<{ ref: string; result: string; code?: string }>;
}
const detail = async () => (await hub.admin<Detail[]>('POST', '/admin/node', { node: 'e2e-1' }))[0]!;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-e2e-'));
  kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
  node = await TestNode.create({ kit, slotSize: 2 << 20 });
  await mkdir(join(dir, 'bundles'));
  await copyFile(kit.bundle, join(dir, 'bundles', 'app-2.0.0.bundle'));
  const id = await loadOrCreateIdentity(join(node.stateDir, 'identity'), 'e2e-1');
  hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--preauthorize', id.fingerprint] });
  const config = JSON.parse(await readFile(node.configPath, 'utf8'));
  config.hub = { url: hub.agentUrl, deviceId: 'e2e-1', backoffBaseMs: 100, backoffCapMs: 1000, pingIntervalMs: 10_000, authTimeoutMs: 30_000, healthDeadlineMs: 30_000 };
  config.inventory = { scriptsDir: null };
  await writeFile(node.configPath, JSON.stringify(config, null, 2));
});

after(async () => {
  await agent?.stop('SIGKILL');
  await hub?.stop();
  await node?.dispose();
  await kit?.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('offer → download from the hub → install → reboot → health (hub reachable) → commit, all reported', { timeout: 240_000 }, async () => {
  agent = spawnAgent([BIN, 'run', '--config', node.configPath]);
  await waitFor('online', async () => (await detail()).history.length >= 1, 30_000);
  const [offer] = await hub.admin<Array<{ id: string }>>('POST', '/admin/offer', {
    node: 'e2e-1', bundle: 'app-2.0.0.bundle', deploymentId: 'e2e-dep-1',
  });
  await waitFor('parked for the reboot', async () => (await detail()).deployment?.state === 'awaiting_boot', 60_000);
  assert.equal(await node.holds('B'), 'new', 'slot B holds the new image');

  // The simulated reboot flipped the booted slot; a new agent process plays the boot that follows.
  assert.equal(await agent.stop('SIGTERM'), 0);
  agent = spawnAgent([BIN, 'run', '--config', node.configPath]);
  const done = await waitFor('outcome at the hub', async () => {
    const d = await detail();
    return d.deployment?.outcome ? d : null;
  }, 60_000);
  assert.equal(done.deployment!.outcome!.result, 'success', JSON.stringify(done.deployment));
  assert.equal(done.deployment!.id, 'e2e-dep-1');
  assert.ok(done.deployment!.outcome!.log.length > 0, 'the deployment log came along');
  const vars = await node.env().read();
  assert.equal(vars.OUTPOST_B_GOOD, '1', 'B committed');
  const seqs = done.history.map((h) => h.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every report exactly once, in order');
  assert.deepEqual(done.acks.map((a) => [a.ref, a.result]), [[offer!.id, 'accepted']]);
  const again = await hub.admin<Array<{ id: string }>>('POST', '/admin/offer', {
    node: 'e2e-1', bundle: 'app-2.0.0.bundle', deploymentId: 'e2e-dep-1',
  });
  await waitFor('replayed offer acked', async () => (await detail()).acks.length === 2);
  assert.equal((await detail()).acks[1]!.result, 'duplicate', 'a finished deployment is not started again');
});
