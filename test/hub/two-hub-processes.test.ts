// Two `outpost-hub serve` processes on one PostgreSQL database (a private cluster), real agent
// link clients (HubClient) on each: a rollout started through hub 2's operator API reaches a node
// whose socket hub 1 holds and completes, and a command issued through hub 1 for a node on hub 2
// is delivered and acknowledged by whichever process holds that node's socket. And the processes
// share the fleet's admission budget instead of each admitting the whole of it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubProcess } from '../../scripts/fleet-sim/hub-process.ts';
import { makeBundle } from '../../scripts/fleet-sim/bundle.ts';
import { SimUpdate } from '../../scripts/fleet-sim/sim-update.ts';
import { POSTGRES_NEEDS, POSTGRES_PACKAGE, postgresBinDir, startPostgres } from '../support/postgres.ts';
import { requireTools } from '../support/require-tool.ts';
import { waitFor } from '../support/dev-hub.ts';
import { newIdentity, startAgent, type TestAgent } from './agents.ts';
import { openStore } from '../../hub/store/open.ts';
import { startHub, type Hub } from '../../hub/app.ts';
import { silentLogger } from '../../agent/log/logger.ts';
import { addNode } from './store/suite-helpers.ts';

const COMPATIBLE = 'sim-board';

interface NodeView {
  online: boolean;
  acks: Array<{ ref: string; type: string; result: string }>;
}
interface RolloutView {
  status: string;
  reason: string | null;
  progress: Array<{ wave: number; size: number; counts: Record<string, number> }>;
}

if (!postgresBinDir()) {
  test('two hub processes on PostgreSQL', { skip: requireTools(...POSTGRES_NEEDS) || `install the Debian package ${POSTGRES_PACKAGE}` }, () => {});
} else {
  const cluster = await startPostgres();
  after(() => cluster.stop());

  test('two hub processes on one PostgreSQL: a rollout through hub 2 reaches a node on hub 1; a command through hub 1 reaches a node on hub 2', { timeout: 600_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hub-two-processes-'));
    const url = await cluster.createDatabase(`two_hubs_${process.pid}`);
    const hubs: HubProcess[] = [];
    const agents: TestAgent[] = [];
    const signal = AbortSignal.timeout(560_000);
    try {
      const bundles = join(dir, 'bundles');
      await mkdir(bundles);
      const bundle = await makeBundle(join(dir, 'bundle-work'), { version: '2.0', release: 2, compatible: COMPATIBLE, bundlesDir: bundles });
      // One after the other: the first makes the operator token (shown once), the second finds it made.
      for (const i of [1, 2]) hubs.push(await HubProcess.start({ store: url, bundles, log: join(dir, `hub${i}.log`), args: ['--hub-id', `hub-${i}`], signal }));
      const [hub1, hub2] = hubs as [HubProcess, HubProcess];
      assert.ok(hub1.token, 'the first hub process prints an operator token');
      assert.equal(hub2.token, null, 'the second finds one made');
      const token = hub1.token;

      // Node A dials hub 1, node B dials hub 2: the real agent link (hello/auth, outbox, commands).
      const ids = { a: newIdentity('node-a'), b: newIdentity('node-b') };
      await hub2.api(token, 'POST', '/admin/preauthorize', { fingerprints: [ids.a.fingerprint, ids.b.fingerprint] });
      const updates = { a: new SimUpdate({ fail: false, failVersion: null, stepMs: 100, onRunning: () => {} }) };
      const offered: string[] = [];
      updates.a.onOffer = (d) => offered.push(d);
      const describe = async () => ({ compatible: [COMPATIBLE], running: { version: '1.0', release: 1, slot: 'A' } });
      agents.push(await startAgent({ url: hub1.agentUrl, dir: join(dir, 'agents'), identity: ids.a, describe, update: updates.a }));
      agents.push(await startAgent({ url: hub2.agentUrl, dir: join(dir, 'agents'), identity: ids.b, describe }));
      const node = (h: HubProcess, id: string) => h.api<NodeView[]>(token, 'GET', `/admin/nodes/${id}`).then((v) => v[0]!);
      await waitFor('both nodes online', async () => (await node(hub1, ids.a.fingerprint)).online && (await node(hub1, ids.b.fingerprint)).online, 120_000, { everyMs: 200 });

      // 1. A rollout of node A only, started through hub 2: hub 1 (holding A's socket) sends the offer.
      await hub2.api(token, 'POST', '/admin/groups', { node: ids.a.fingerprint, group: 'canary' });
      await hub2.api(token, 'POST', '/admin/rollouts', { id: 'across', bundle, target: { group: 'canary' }, waves: ['100%'], deadlineS: 300 });
      await waitFor('node A (on hub 1) receives the offer', () => offered.length === 1, 120_000, { everyMs: 200 });
      let view: RolloutView | null = null;
      await waitFor('the rollout to finish', async () => {
        view = await hub2.api<RolloutView>(token, 'GET', '/admin/rollouts/across');
        return view.status !== 'running';
      }, 180_000, { everyMs: 200 });
      const v = view as unknown as RolloutView;
      assert.equal(v.status, 'completed', v.reason ?? '');
      assert.deepEqual(v.progress.map((w) => [w.size, w.counts.committed ?? 0]), [[1, 1]]);
      assert.equal(offered.length, 1, 'one offer, from one process');

      // 2. A command for node B (on hub 2) issued through hub 1: delivered by hub 2 and acknowledged.
      const [issued] = await hub1.api<Array<{ id: string; delivered: boolean }>>(token, 'POST', '/admin/command', { node: ids.b.fingerprint, type: 'inventory.refresh' });
      assert.ok(issued?.delivered, 'the store knows node B is connected (to the other process)');
      await waitFor('node B acknowledges the command', async () => (await node(hub1, ids.b.fingerprint)).acks.some((a) => a.ref === issued!.id && a.result === 'accepted'), 120_000, { everyMs: 200 });
    } finally {
      await Promise.all(agents.map((a) => a.stop().catch(() => {})));
      await Promise.all(hubs.map((h) => h.stop('SIGTERM').catch(() => {})));
      await cluster.dropDatabase(`two_hubs_${process.pid}`).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** Seeds `nodes` nodes, starts one hub (rate `alone`), then a second: each ends at `each`. */
  async function sharedAdmission(db: string, nodes: number, alone: number, aloneWhy: string, each: number, eachWhy: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'hub-two-admission-'));
    const url = await cluster.createDatabase(db);
    const hubs: Hub[] = [];
    try {
      await mkdir(join(dir, 'bundles'));
      const seed = await openStore({ url });
      try {
        for (let i = 0; i < nodes; i += 100) await Promise.all(Array.from({ length: Math.min(100, nodes - i) }, () => addNode(seed)));
      } finally {
        await seed.close();
      }
      const start = async () => startHub({ store: await openStore({ url }), host: '127.0.0.1', port: 0, bundlesDir: join(dir, 'bundles'), log: silentLogger() });
      hubs.push(await start());
      assert.equal(hubs[0]!.admission.ratePerS, alone, aloneWhy);
      hubs.push(await start());
      // The second counts both at its start; the first sees the second at its next fleet count.
      await waitFor(eachWhy, () => hubs.every((h) => h.admission.ratePerS === each), 60_000, { everyMs: 100 });
    } finally {
      for (const h of hubs) {
        await h.close().catch(() => {});
        await h.store.close().catch(() => {});
      }
      await cluster.dropDatabase(db).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  }

  test('two hub processes on one PostgreSQL admit handshakes at half the fleet rate each', { timeout: 300_000 }, () =>
    sharedAdmission(`two_adm_${process.pid}`, 2000, 80, 'alone: 4 % of 2,000 nodes per second', 40, 'both processes at half the rate'));

  // Each its share of the floor, not a floor of its own (that admitted 2 x 20/s).
  test('two hub processes on one PostgreSQL share the fleet\'s admission floor: a small fleet is admitted at 20/s in all', { timeout: 300_000 }, () =>
    sharedAdmission(`two_floor_${process.pid}`, 100, 20, 'alone: the floor (4 % of 100 is less)', 10, 'both processes at half the floor'));
}
