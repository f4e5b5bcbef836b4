// Two hub processes on one PostgreSQL database, each with its own store connection and rollout
// driver, stepping the same rollout at the same time: one wave opening each, one offer per node.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../../hub/store/open.ts';
import { RolloutDriver } from '../../../hub/rollouts/driver.ts';
import { createRollout } from '../../../hub/rollouts/create.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { POSTGRES_PACKAGE, postgresBinDir, startPostgres } from '../../support/postgres.ts';
import { addNodes, bundleRow, stepNodes, testOffer } from './store-fleet.ts';

if (!postgresBinDir()) {
  test('rollout driver on PostgreSQL', { skip: `PostgreSQL server binaries not found (install the Debian package ${POSTGRES_PACKAGE})` }, () => {});
} else {
  const cluster = await startPostgres({ fsync: false });
  after(() => cluster.stop());

  test('rollout driver: two hub processes on one PostgreSQL never both advance a rollout nor offer a node twice', { timeout: 300_000 }, async () => {
    const url = await cluster.createDatabase(`rollouts_${process.pid}`);
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const now = 1_700_000_000_000;
    const drivers = [a, b].map((store) => new RolloutDriver({ store, offer: testOffer, log: silentLogger(), now: () => now }));
    try {
      const nodes = await addNodes(a, 40, now);
      await a.putBundle(bundleRow(now));
      await createRollout(a, { bundle: (await a.getBundle('rootfs-2.0.bundle'))!, body: { id: 'twin', waves: ['10%', '40%', '100%'] }, createdBy: 'test', now });
      const opened: string[] = [];
      for (let i = 0; i < 40 && (await b.getRollout('twin'))!.status === 'running'; i++) {
        const steps = await Promise.all(drivers.map((d) => d.step('twin')));
        for (const s of steps) if (s && !s.conflict) opened.push(...s.plan.events.filter((e) => e.startsWith('wave')));
        await stepNodes(i % 2 ? a : b, nodes, now);
      }
      assert.equal((await a.getRollout('twin'))!.status, 'completed');
      assert.deepEqual(opened, ['wave 1 of 3 opened (4 nodes)', 'wave 2 of 3 opened (12 nodes)', 'wave 3 of 3 opened (24 nodes)']);
      assert.ok(nodes.every((n) => n.offers === 1), 'one offer per node');
    } finally {
      await Promise.all(drivers.map((d) => d.stop()));
      await a.close();
      await b.close();
    }
  });
}
