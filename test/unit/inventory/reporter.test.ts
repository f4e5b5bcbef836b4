// Full on first connect, diffs after, nothing when unchanged; the acknowledged base on disk
// survives a restart; journaled-but-unacknowledged reports continue their chain; a hub that
// holds another inventory gets a full one. The collector replays a scripted sequence.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryReporter, type InventoryReport } from '../../../agent/inventory/reporter.ts';
import { AckStore, INVENTORY_ACK_FILE } from '../../../agent/inventory/ack-store.ts';
import { applyDiff } from '../../../agent/inventory/diff.ts';
import { hashFlat, wireInventory } from '../../../agent/inventory/hash.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { Inventory } from '../../../shared/protocol/messages.ts';
import type { JsonObject } from '../../../agent/inventory/types.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function inv(cores: number, extra: JsonObject = {}): Inventory {
  return wireInventory({ v: 1, agent: { version: '0.1.0' }, cpu: { cores }, network: { eth0: { mac: 'aa', speedMbps: 1000 } }, errors: {}, ...extra });
}

/** A hub that applies what it receives and checks diffs against the base it holds. */
function fakeHubSide() {
  const sent: InventoryReport[] = [];
  let held: Inventory | null = null;
  return {
    sent,
    get held() {
      return held;
    },
    send: async (r: InventoryReport) => {
      sent.push(r);
      if (r.mode === 'full') held = r.data;
      else {
        assert.ok(held, 'diff without a base');
        assert.equal(hashFlat(held), r.base, 'diff base is what the hub holds');
        held = applyDiff(held, r);
      }
      assert.equal(hashFlat(held!), r.hash);
    },
  };
}

async function setup(dir?: string, hub = fakeHubSide()) {
  const d = dir ?? (await mkdtemp(join(tmpdir(), 'outpost-inv-rep-')));
  if (!dir) dirs.push(d);
  let next: Inventory = inv(2);
  const reporter = new InventoryReporter({ collect: async () => next, store: new AckStore(d), send: hub.send, logger: silentLogger() });
  return { dir: d, hub, reporter, set: (i: Inventory) => void (next = i) };
}

test('first connect sends the full inventory; unchanged sends nothing; a change sends a small diff', async () => {
  const { hub, reporter, set } = await setup();
  const first = await reporter.request('connect');
  assert.equal(first?.mode, 'full');
  assert.equal(await reporter.request('schedule'), null);

  set(inv(4));
  const diff = await reporter.request('schedule');
  assert.deepEqual(diff?.mode === 'diff' && { set: diff.set, unset: diff.unset }, { set: { 'cpu.cores': 4 }, unset: [] });
  assert.deepEqual(hub.held, inv(4));

  const forced = await reporter.request('demand', { full: true });
  assert.equal(forced?.mode, 'full', 'the hub can always ask for everything');
  assert.equal(hub.sent.length, 3);
});

test('a restart after an acknowledged report sends nothing when unchanged, a diff when changed', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  await a.reporter.markAcknowledged(r1);
  const onDisk = JSON.parse(await readFile(join(a.dir, INVENTORY_ACK_FILE), 'utf8'));
  assert.equal(onDisk.hash, r1.hash);

  // Restart: same machine, new process.
  const b = await setup(a.dir, a.hub);
  assert.equal(await b.reporter.acknowledgedHash(), r1.hash);
  assert.equal(await b.reporter.hubHolds(r1.hash!), true);
  assert.equal(await b.reporter.request('connect'), null, 'unchanged inventory is not resent');
  assert.equal(a.hub.sent.length, 1);

  // Restart with a new NIC: only the diff goes out, against the acknowledged base.
  const c = await setup(a.dir, a.hub);
  c.set(inv(2, { network: { eth0: { mac: 'aa', speedMbps: 1000 }, eth1: { mac: 'bb', speedMbps: 100 } } }));
  const r = await c.reporter.request('connect');
  assert.equal(r?.mode, 'diff');
  assert.equal(r.mode === 'diff' && r.base, r1.hash);
  assert.deepEqual(r.mode === 'diff' && r.set, { 'network.eth1.mac': 'bb', 'network.eth1.speedMbps': 100 });
});

test('a hub that holds another inventory (or none) gets a full one, even if nothing changed', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  await a.reporter.markAcknowledged(r1);
  const b = await setup(a.dir);
  assert.equal(await b.reporter.hubHolds(null), false, 'the hub lost its copy');
  const again = await b.reporter.request('connect');
  assert.equal(again?.mode, 'full');
  assert.equal(again.hash, r1.hash);
});

test('reports journaled before a restart and acknowledged after it become the base', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  await a.reporter.markAcknowledged(r1);
  a.set(inv(6));
  const r2 = (await a.reporter.request('schedule'))!; // journaled, not acknowledged yet
  assert.equal(r2.mode, 'diff');

  const b = await setup(a.dir, a.hub);
  await b.reporter.restore([r2]);
  b.set(inv(6));
  assert.equal(await b.reporter.request('connect'), null, 'the journaled diff already carries this state');
  b.set(inv(8));
  const r3 = (await b.reporter.request('schedule'))!;
  assert.equal(r3.mode === 'diff' && r3.base, r2.hash, 'continues the journaled chain');
  await b.reporter.markAcknowledged(r2); // known only from its content (new process)
  await b.reporter.markAcknowledged(r3);
  assert.equal(await b.reporter.acknowledgedHash(), r3.hash);
  assert.equal(JSON.parse(await readFile(join(a.dir, INVENTORY_ACK_FILE), 'utf8')).hash, r3.hash);
});

test('an unacknowledged report is not the durable base; acks of unknown hashes are ignored', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  await a.reporter.markAcknowledged('sha256:' + '0'.repeat(64));
  assert.deepEqual(await readdir(a.dir), [], 'nothing written for an unknown ack');
  const b = await setup(a.dir);
  const again = await b.reporter.request('connect');
  assert.equal(again?.mode, 'full', 'never acknowledged: full again after restart');
  assert.equal(again.hash, r1.hash);
});

test('acknowledging a later report supersedes earlier pending ones', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  a.set(inv(8));
  const r2 = (await a.reporter.request('schedule'))!;
  await a.reporter.markAcknowledged(r2.hash!);
  await a.reporter.markAcknowledged(r1.hash!); // late ack of the older one must not roll back
  assert.equal(JSON.parse(await readFile(join(a.dir, INVENTORY_ACK_FILE), 'utf8')).hash, r2.hash);
});

test('a tampered ack file is set aside, never used as a diff base', async () => {
  const a = await setup();
  const r1 = (await a.reporter.request('connect'))!;
  await a.reporter.markAcknowledged(r1);
  const file = join(a.dir, INVENTORY_ACK_FILE);
  const rec = JSON.parse(await readFile(file, 'utf8'));
  rec.facts['cpu.cores'] = 64;
  await writeFile(file, JSON.stringify(rec));
  const b = await setup(a.dir);
  assert.equal((await b.reporter.request('connect'))?.mode, 'full');
  assert.ok((await readdir(a.dir)).some((n) => n.startsWith(`${INVENTORY_ACK_FILE}.corrupt-`)));
});

test('a send failure leaves the base unchanged so the next attempt repeats the change', async () => {
  const d = await mkdtemp(join(tmpdir(), 'outpost-inv-rep-'));
  dirs.push(d);
  let fail = true;
  const sent: InventoryReport[] = [];
  const reporter = new InventoryReporter({
    collect: async () => inv(2),
    store: new AckStore(d),
    send: async (r) => {
      if (fail) throw new Error('outbox full');
      sent.push(r);
    },
    logger: silentLogger(),
  });
  await assert.rejects(reporter.request('connect'), /outbox full/);
  fail = false;
  assert.equal((await reporter.request('connect'))?.mode, 'full');
  assert.equal(sent.length, 1);
});
