// The update controller in-process, without a hub: the daemon's update stack (real slots, boot
// env, HTTP source on loopback) driven through the calls the hub link makes: offer, cancel,
// resume at start, with an operator's CLI holding the update lock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadConfig } from '../../../agent/config/load.ts';
import { Writable } from 'node:stream';
import { createLogger } from '../../../agent/log/logger.ts';
import { buildUpdateStack, type UpdateStack } from '../../../agent/app/update-stack.ts';
import type { ControllerEvent, OfferInput } from '../../../agent/update/controller.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { startFlakyServer, type FlakyServer } from '../../support/flaky-http-server.ts';
import { waitFor } from '../../support/dev-hub.ts';

// Never open (1 January 00:00 for a minute): a deployment waits there before arming.
const CLOSED = { cron: '0 0 1 1 *', durationMinutes: 1, timezone: 'UTC' };

let kit: Awaited<ReturnType<typeof makeKit>>;
let server: FlakyServer;
const nodes: TestNode[] = [];
const stops: Array<() => void> = [];

before(async () => {
  kit = await makeKit({ imageSize: 2 << 20, blockSize: 64 << 10 });
  server = await startFlakyServer({ body: await readFile(kit.bundle) });
});

after(async () => {
  for (const s of stops) s();
  await server.close();
  for (const n of nodes) await n.dispose();
  await kit.dispose();
});

interface Daemon {
  node: TestNode;
  logs: Array<Record<string, unknown>>;
  stack: UpdateStack;
  events: ControllerEvent[];
  outcome(id: string): Promise<Extract<ControllerEvent, { type: 'outcome' }>>;
  stop(): void;
}

/** The daemon's update stack over a node (a new one over the same node is a restart). */
async function daemon(node?: TestNode): Promise<Daemon> {
  const n = node ?? (await TestNode.create({ kit, slotSize: 4 << 20, checkpointBytes: 128 << 10 }));
  if (!node) nodes.push(n);
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', out: new Writable({ write: (_c, _e, cb) => cb() }), tap: (l) => void logs.push(l) });
  const stack = await buildUpdateStack(await loadConfig(n.configPath), { mode: 'daemon', logger });
  const events: ControllerEvent[] = [];
  stack.controller.onEvent((e) => events.push(e));
  const ac = new AbortController();
  const stop = () => (ac.abort(), stack.app.service.stop());
  stops.push(stop);
  return {
    node: n, logs, stack, events,
    outcome: (id) => waitFor(`outcome of ${id}`, () => events.find((e): e is Extract<ControllerEvent, { type: 'outcome' }> => e.type === 'outcome' && e.deploymentId === id), 60_000),
    stop,
  };
}

const offer = (deploymentId: string, extra: Partial<OfferInput> = {}): OfferInput => ({
  deploymentId, bundle: { url: `${server.url}`, size: server.body().length }, now: true, ...extra,
});

const journalState = async (n: TestNode) => (await n.journal())?.state ?? null;

async function holdLock(n: TestNode): Promise<() => Promise<void>> {
  // The lock of another live process, as `outpost install` on site holds it (not this one's:
  // a service of this process releasing its own lock would remove a file naming this pid).
  const holder = spawn('sleep', ['600'], { stdio: 'ignore' });
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const lock = join(n.stateDir, 'update', 'lock');
  await mkdir(join(n.stateDir, 'update'), { recursive: true });
  await writeFile(lock, `${holder.pid} ${boot}\n`);
  stops.push(() => holder.kill());
  return async () => {
    await rm(lock, { force: true });
    holder.kill();
  };
}

test('offer while busy is E_UPDATE_BUSY, the same offer again is duplicate; cancel while it waits to arm abandons', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  assert.deepEqual(await c.offer(offer('dep-1', { installWindows: [CLOSED] })), { result: 'accepted' });
  assert.equal((await c.offer(offer('dep-1'))).result, 'duplicate');
  const busy = await c.offer(offer('dep-2'));
  assert.deepEqual([busy.result, busy.code], ['rejected', 'E_UPDATE_BUSY']);
  await waitFor('waiting for the install window', async () => (await journalState(d.node)) === 'awaiting_install_window', 60_000);
  assert.equal((await c.offer(offer('dep-1'))).result, 'duplicate');
  assert.equal(await c.cancel('dep-1'), true);
  const o = await d.outcome('dep-1');
  assert.deepEqual([o.result, o.code, o.version], ['cancelled', 'E_CANCELLED', '2.0.0']);
  assert.match(o.log, /transition/);
  const env = await d.node.env().read();
  assert.equal(env.BOOT_ORDER, 'A', 'the old slot stays primary');
  assert.notEqual(env.OUTPOST_B_GOOD, '1', 'the target is not good');
  assert.equal(await c.cancel('dep-1'), false, 'an ended deployment is not cancellable');
  assert.equal((await c.offer(offer('dep-3', { installWindows: [CLOSED] }))).result, 'accepted', 'a later offer is accepted');
  await waitFor('dep-3 waits to arm', async () => (await d.node.journal())?.id === 'dep-3' && (await journalState(d.node)) === 'awaiting_install_window', 60_000);
  d.stop();
});

test('cancel before the download starts (download window closed) ends it as cancelled without a journal', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  const { now: _now, ...later } = offer('dep-w', { windows: [CLOSED] });
  assert.equal((await c.offer(later)).result, 'accepted');
  assert.equal(await c.cancel('dep-w'), true);
  const o = await d.outcome('dep-w');
  assert.deepEqual([o.result, o.code, o.log], ['cancelled', 'E_CANCELLED', '']);
  assert.equal(await d.node.journal(), null, 'nothing was journaled');
  assert.equal((await c.offer(offer('dep-w2', { installWindows: [CLOSED] }))).result, 'accepted');
  await waitFor('dep-w2 waits to arm', async () => (await journalState(d.node)) === 'awaiting_install_window', 60_000);
  d.stop();
});

test('cancel during the write abandons it: target bad, old slot primary, the hub hears cancelled', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  // The server stops sending a third of the way in: the write is in progress while we cancel.
  server.set({ stallAfter: 700 << 10, stallTimes: 1 });
  try {
    assert.equal((await c.offer(offer('dep-c'))).result, 'accepted');
    await waitFor('writing', () => d.events.some((e) => e.type === 'progress' && e.deploymentId === 'dep-c'), 60_000);
    assert.equal(await journalState(d.node), 'writing');
    assert.equal(await c.cancel('dep-c'), true);
    const o = await d.outcome('dep-c');
    assert.deepEqual([o.result, o.code], ['cancelled', 'E_CANCELLED']);
  } finally {
    server.set({ stallAfter: null });
  }
  assert.equal((await d.node.env().read()).BOOT_ORDER, 'A');
  await d.node.assertBootable('after the cancel');
  d.stop();
});

test('cancel sent as verifying begins is honoured: nothing is armed, the hub hears cancelled', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  let cancelled: Promise<boolean> | null = null;
  const entered: string[] = [];
  d.stack.app.service.subscribe((e) => {
    if (e.type !== 'state' || e.id !== 'dep-v') return;
    entered.push(e.state);
    if (e.state === 'verifying' && !cancelled) cancelled = c.cancel('dep-v');
  });
  assert.equal((await c.offer(offer('dep-v', { installWindows: [CLOSED] }))).result, 'accepted');
  const o = await d.outcome('dep-v');
  assert.deepEqual([o.result, o.code], ['cancelled', 'E_CANCELLED']);
  assert.equal(await cancelled, true);
  assert.ok(!entered.includes('arming'), entered.join(' '));
  assert.equal((await d.node.env().read()).BOOT_ORDER, 'A');
  d.stop();
});

test('cancel after arming is refused with E_CANCEL_TOO_LATE and changes nothing', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  assert.equal((await c.offer(offer('dep-a', { installWindows: [] }))).result, 'accepted');
  await waitFor('armed and rebooted', async () => (await journalState(d.node)) === 'awaiting_boot', 60_000);
  await assert.rejects(c.cancel('dep-a'), (e) => isOutpostError(e, 'E_CANCEL_TOO_LATE'));
  assert.equal(await journalState(d.node), 'awaiting_boot');
  d.stop();
});

test('resume at start continues a stopped download; an offer while an operator CLI holds the lock fails with E_UPDATE_BUSY', { timeout: 240_000 }, async () => {
  const first = await daemon();
  server.set({ stallAfter: 700 << 10, stallTimes: 1 });
  try {
    assert.equal((await first.stack.controller.offer(offer('dep-r', { installWindows: [CLOSED] }))).result, 'accepted');
    await waitFor('writing', () => first.events.some((e) => e.type === 'progress'), 60_000);
    first.stop(); // shutdown mid-write: the journal keeps it
    await waitFor('stopped', () => first.logs.some((l) => l.msg === 'deployment step finished' && l.result === 'stopped'), 30_000);
  } finally {
    server.set({ stallAfter: null });
  }
  // A restart while an operator's `outpost install` holds the update lock: the resume waits.
  const release = await holdLock(first.node);
  const again = await daemon(first.node);
  const ac = new AbortController();
  stops.push(() => ac.abort());
  const resumed = again.stack.controller.resume(ac.signal);
  const refused = await again.stack.controller.offer(offer('dep-other'));
  assert.deepEqual([refused.result, refused.code], ['rejected', 'E_UPDATE_BUSY'], 'the journal holds dep-r');
  await waitFor('the resume saw the lock', () => again.logs.some((l) => String(l.msg).includes('update lock held by another process')), 30_000);
  await release();
  await waitFor('resumed and written', async () => (await journalState(first.node)) === 'awaiting_install_window', 90_000);
  assert.equal((await again.stack.controller.offer(offer('dep-r'))).result, 'duplicate');
  ac.abort();
  again.stop();
  await resumed;
});

test('an offer accepted while an operator CLI holds the update lock ends with a failure outcome', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const release = await holdLock(d.node);
  try {
    assert.equal((await d.stack.controller.offer(offer('dep-l'))).result, 'accepted');
    const o = await d.outcome('dep-l');
    assert.deepEqual([o.result, o.code], ['failure', 'E_UPDATE_BUSY']);
    assert.equal(await d.node.journal(), null);
  } finally {
    await release();
  }
  assert.equal((await d.stack.controller.offer(offer('dep-l2', { installWindows: [CLOSED] }))).result, 'accepted', 'the lock is free again');
  await waitFor('dep-l2 waits to arm', async () => (await journalState(d.node)) === 'awaiting_install_window', 60_000);
  d.stop();
});

// CI saw it: the hub hears an outcome before the step that produced it returns, and an offer sent
// on that outcome was refused with E_UPDATE_BUSY. An offer made from the outcome event is taken.
test('an offer sent the moment an outcome is emitted is accepted, not refused as busy', { timeout: 240_000 }, async () => {
  const d = await daemon();
  const release = await holdLock(d.node);
  let next: Promise<{ result: string; code?: string }> | null = null;
  d.stack.controller.onEvent((e) => {
    if (e.type === 'outcome' && e.deploymentId === 'dep-o1') next = d.stack.controller.offer(offer('dep-o2'));
  });
  try {
    assert.equal((await d.stack.controller.offer(offer('dep-o1'))).result, 'accepted');
    await d.outcome('dep-o1');
    const decided = await waitFor('offer made on the outcome', () => next, 10_000);
    assert.deepEqual(await decided, { result: 'accepted' });
    const o = await d.outcome('dep-o2');
    assert.deepEqual([o.result, o.code], ['failure', 'E_UPDATE_BUSY'], 'the lock was still held: it ends like the first');
  } finally {
    await release();
  }
  d.stop();
});
