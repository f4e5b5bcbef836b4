// Every state the update service enters, through every path (a deployment, the operator's
// commit and rollback, a hub cancel of an undriven deployment, the save counter, a corrupt
// journal's recovery), is a row of TRANSITIONS or RESUME: a transition decided anywhere else
// fails here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { failingCheck, faultyService, type Faults } from './custom-service.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { RESUME, TRANSITIONS, NONE } from '../../../agent/update/machine.ts';
import type { InstallWindows } from '../../../agent/update/ports.ts';
import type { UpdateService } from '../../../agent/update/service.ts';
import type { UpdateEvent } from '../../../agent/update/runner.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
const nodes: TestNode[] = [];
before(async () => {
  kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
});
after(async () => {
  for (const n of nodes) await n.dispose();
  await kit.dispose();
});

// Never open while the test runs: a deployment waits there before arming.
const closed: InstallWindows = {
  forDeployment: async () => [{ cron: '0 0 1 1 *', durationMinutes: 1, timezone: 'UTC' }],
  wait: (_ms, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
};

type StateEvent = Extract<UpdateEvent, { type: 'state' }>;
const seen: StateEvent[] = [];

async function watched(node: TestNode, f: Faults = {}): Promise<UpdateService> {
  const svc = await faultyService(node, f);
  svc.subscribe((e) => void (e.type === 'state' && seen.push(e)));
  return svc;
}

async function newNode(): Promise<TestNode> {
  const n = await TestNode.create({ kit, slotSize: 2 << 20, checkpointBytes: 128 << 10 });
  nodes.push(n);
  return n;
}

function assertRows(label: string, from: number): void {
  const events = seen.slice(from);
  assert.ok(events.length > 0, `${label}: states were entered`);
  for (const e of events) {
    const want = e.via === 'resume' ? (e.from === NONE ? undefined : RESUME[e.from]) : TRANSITIONS[e.from][e.via];
    assert.equal(e.state, want, `${label}: ${e.from} --${e.via}--> ${e.state} is not a row of the table`);
  }
}

test('a deployment, an operator commit and an operator rollback go through rows', async () => {
  const n = await newNode();
  const at = seen.length;
  const svc = await watched(n, { healthChecks: [failingCheck] });
  assert.equal((await svc.start(fileSource(kit.bundle))).kind, 'parked');
  assert.equal((await svc.commit())?.kind, 'outcome');
  assert.ok(seen.some((e) => e.via === 'operator_commit'));
  // A second deployment stopped while it waits to arm, then rolled back by the operator.
  const svc2 = await watched(n, { installWindows: closed });
  const waiting = svc2.start(fileSource(kit.bundle));
  svc2.subscribe((e) => void (e.type === 'state' && e.state === 'awaiting_install_window' && svc2.stop()));
  assert.equal((await waiting).kind, 'stopped');
  const r = await svc2.rollback();
  assert.deepEqual(r && r.kind === 'outcome' && [r.outcome, r.error?.code], ['failed', 'E_OPERATOR_ROLLBACK']);
  assert.ok(seen.some((e) => e.via === 'operator_rollback' && e.state === 'abandoning'));
  assertRows('deploy, commit, rollback', at);
});

test('a hub cancel of an undriven deployment and the save counter go through rows', async () => {
  const n = await newNode();
  const at = seen.length;
  const svc = await watched(n, { installWindows: closed });
  svc.subscribe((e) => void (e.type === 'state' && e.state === 'awaiting_install_window' && svc.stop()));
  const r = await svc.start(fileSource(kit.bundle), { id: 'dep-undriven' });
  assert.equal(r.kind, 'stopped');
  assert.equal(await svc.cancelDeployment('dep-undriven'), true);
  assert.ok(seen.some((e) => e.via === 'cancelled'));
  // A reboot that never happens: the second entry of rebooting trips a save counter of 1.
  const svc2 = await watched(n, { maxStateEntries: 1, rebooter: () => ({ reboot: async () => {} }) });
  assert.equal((await svc2.start(fileSource(kit.bundle))).kind, 'parked');
  await svc2.resumeAfterBoot();
  assert.ok(seen.some((e) => e.via === 'exhausted'), seen.map((e) => `${e.from}-${e.via}->${e.state}`).join(' '));
  assertRows('cancel, save counter', at);
});

test('the recovery of a corrupt journal goes through rows', async () => {
  const n = await newNode();
  const at = seen.length;
  await writeFile(join(n.stateDir, 'update/journal.json'), '{ not json');
  const svc = await watched(n);
  await svc.resumeAfterBoot();
  assert.ok(seen.some((e) => e.from === NONE && e.via.startsWith('recovered_')));
  assertRows('recovery', at);
});
