// The store suite on PostgreSQL (a private cluster, a fresh database per test), plus what only
// several hub processes on one PostgreSQL show: commands and notifications cross between store
// instances, and the bus survives a lost listener connection.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { openPostgresStore } from '../../../hub/store/postgres/index.ts';
import { postgresDialect } from '../../../hub/store/sql/dialect.ts';
import { BUS_COMMAND, type JsonValue } from '../../../hub/store/types.ts';
import { POSTGRES_NEEDS, POSTGRES_PACKAGE, postgresBinDir, startPostgres } from '../../support/postgres.ts';
import { requireTools } from '../../support/require-tool.ts';
import { storeSuite } from './store-suite.ts';
import { addNode, withDb, type StoreHarness } from './suite-helpers.ts';
import { waitFor } from '../../support/wait-for.ts';

if (!postgresBinDir()) {
  test('postgres store suite', { skip: requireTools(...POSTGRES_NEEDS) || `install the Debian package ${POSTGRES_PACKAGE}` }, () => {});
} else {
  const cluster = await startPostgres();
  after(() => cluster.stop());
  let n = 0;
  const harness: StoreHarness = {
    name: 'postgres',
    async fresh() {
      const name = `t${++n}_${process.pid}`;
      const url = await cluster.createDatabase(name);
      return {
        // Group commit on (off by default on PostgreSQL): the suite covers the grouped path.
        open: (limits) => openPostgresStore(url, { group: 32, ...(limits ? { limits } : {}) }),
        async query(sql, params = []) {
          const c = new Client({ connectionString: url });
          await c.connect();
          try {
            return (await c.query(postgresDialect.placeholders(sql), params)).rows;
          } finally {
            await c.end();
          }
        },
        drop: () => cluster.dropDatabase(name),
      };
    },
  };

  storeSuite(harness);

  test('postgres: two hub processes: a command enqueued on one is announced to and read by the other', () => withDb(harness, async (db) => {
    const hub1 = await db.open();
    const hub2 = await db.open();
    const node = await addNode(hub1);
    const heard: JsonValue[] = [];
    await hub2.subscribe(BUS_COMMAND, (p) => heard.push(p));
    await hub1.enqueueCommand(node, { v: 1, type: 'reboot', id: 'c-1' }, { now: 1 });
    await waitFor('hub2 hears of the command', () => heard.length === 1);
    assert.deepEqual(heard[0], { nodeId: node, id: 'c-1' });
    assert.deepEqual((await hub2.outstandingCommands(node)).map((c) => c.id), ['c-1']);
  }));

  test('postgres: the bus listens again after its connection was killed', () => withDb(harness, async (db) => {
    const a = await db.open();
    const b = await db.open();
    const heard: JsonValue[] = [];
    await b.subscribe('outpost_test', (p) => heard.push(p));
    await a.notify('outpost_test', 'before');
    await waitFor('the first notification', () => heard.length === 1);
    // Kill every LISTENing backend (b's listener): like a PostgreSQL restart or a network cut.
    const killed = await db.query(
      "SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
    );
    assert.ok(killed.length >= 1);
    // The listener comes back by itself; keep publishing until one gets through.
    let i = 0;
    await waitFor('a notification after the reconnect', async () => {
      await a.notify('outpost_test', `after-${++i}`).catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      return heard.some((h) => typeof h === 'string' && h.startsWith('after-'));
    }, 60_000);
  }));
}
