// A state directory on a small real tmpfs that fills up during a download: the deployment must
// end with a code (or carry on when the space comes back in time), never leave the update
// service busy; an offer while it is full gets a coded refusal; once space is back the next
// offer is accepted without a restart. Needs root (mount); the daemon's update stack runs
// in-process against a loopback HTTP server, downloads capped by fetch.maxBytesPerSecond.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { open, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadConfig } from '../../../agent/config/load.ts';
import { createLogger } from '../../../agent/log/logger.ts';
import { buildUpdateStack, type UpdateStack } from '../../../agent/app/update-stack.ts';
import type { ControllerEvent, OfferInput } from '../../../agent/update/controller.ts';
import { STATE_WRITE_RETRY_MS } from '../../../agent/update/state-writes.ts';
import { startFlakyServer, type FlakyServer } from '../../support/flaky-http-server.ts';
import { waitFor } from '../../support/dev-hub.ts';
import { faultyService } from './custom-service.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { CommandDispatcher } from '../../../agent/hub/commands.ts';
import { CommandLedger } from '../../../agent/hub/command-ledger.ts';
import { readBundleIdentity } from '../../../shared/bundle/identity.ts';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root to mount a tmpfs';
// Never open (1 January 00:00 for a minute): a deployment waits there before arming.
const CLOSED = { cron: '0 0 1 1 *', durationMinutes: 1, timezone: 'UTC' };
const RETRY_PERIOD_MS = STATE_WRITE_RETRY_MS.reduce((a, b) => a + b, 0);

let kit: Awaited<ReturnType<typeof makeKit>>;
let server: FlakyServer;
let node: TestNode;
let mounted = false;
const stops: Array<() => void> = [];

before(async () => {
  if (!root) return;
  kit = await makeKit({ imageSize: 2 << 20, blockSize: 64 << 10 });
  server = await startFlakyServer({ body: await readFile(kit.bundle) });
  node = await TestNode.create({ kit, slotSize: 4 << 20, checkpointBytes: 128 << 10 });
  // The node's state dir moves onto a 4 MiB tmpfs (slots and boot env stay where they are).
  const seed = `${node.stateDir}.seed`;
  sh('cp', '-a', node.stateDir, seed);
  sh('mount', '-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', node.stateDir);
  mounted = true;
  sh('cp', '-a', `${seed}/.`, node.stateDir);
  // About 16 s per download: the disk fills while blocks are still arriving.
  const config = JSON.parse(await readFile(node.configPath, 'utf8'));
  await writeFile(node.configPath, JSON.stringify({ ...config, fetch: { maxBytesPerSecond: 128 << 10 } }, null, 2));
});

after(async () => {
  for (const s of stops) s();
  await server?.close();
  // Lazy: a handle the stopped stack still holds must not keep the mount (and the test) alive.
  if (mounted) sh('umount', '-l', node.stateDir);
  await node?.dispose();
  await kit?.dispose();
});

function sh(...cmd: string[]): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
}

interface Daemon {
  stack: UpdateStack;
  logs: Array<Record<string, unknown>>;
  events: ControllerEvent[];
  outcome(id: string, ms?: number): Promise<Extract<ControllerEvent, { type: 'outcome' }>>;
}

async function daemon(): Promise<Daemon> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', out: new Writable({ write: (_c, _e, cb) => cb() }), tap: (l) => void logs.push(l) });
  const stack = await buildUpdateStack(await loadConfig(node.configPath), { mode: 'daemon', logger });
  const events: ControllerEvent[] = [];
  stack.controller.onEvent((e) => events.push(e));
  stops.push(() => stack.app.service.stop());
  return {
    stack, logs, events,
    outcome: (id, ms = 120_000) => waitFor(`outcome of ${id}`, () => events.find((e): e is Extract<ControllerEvent, { type: 'outcome' }> => e.type === 'outcome' && e.deploymentId === id), ms),
  };
}

const offer = (deploymentId: string): OfferInput => ({ deploymentId, bundle: { url: server.url, size: server.body().length }, now: true, installWindows: [CLOSED] });
const filler = () => join(node.stateDir, 'filler');

/** Fills the tmpfs to the last byte (the way a runaway log would). */
async function fill(): Promise<void> {
  const s = await statfs(node.stateDir);
  const fh = await open(filler(), 'w');
  try {
    const chunk = Buffer.alloc(64 << 10, 1);
    for (let left = Number(s.bavail) * Number(s.bsize) + (1 << 20); left > 0; left -= chunk.length) await fh.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}

const writing = (d: Daemon, id: string) => waitFor(`${id} writing`, () => d.events.some((e) => e.type === 'progress' && e.deploymentId === id && e.done > 0), 60_000);
const waitsToArm = (id: string) => waitFor(`${id} waits to arm`, async () => {
  const j = await node.journal();
  return j?.id === id && j.state === 'awaiting_install_window';
}, 120_000);

test('disk full during a download: the deployment ends E_STATE_NO_SPACE, an offer meanwhile is refused with a code, and once space is back the next offer is accepted without a restart (wedge regression)', { skip, timeout: 300_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  assert.deepEqual(await c.offer(offer('full-1')), { result: 'accepted' });
  await writing(d, 'full-1');
  await fill();
  const o = await d.outcome('full-1');
  assert.deepEqual([o.result, o.code], ['failure', 'E_STATE_NO_SPACE'], o.message);
  // Written while the disk is still full (the space set aside at start): a restart now resumes nothing.
  const ended = await node.journal();
  assert.deepEqual([ended?.id, ended?.state, ended?.error?.code], ['full-1', 'failed', 'E_STATE_NO_SPACE']);
  // Through the hub link's dispatcher, whose command ledger cannot be written either.
  const log = createLogger({ level: 'error', out: new Writable({ write: (_c, _e, cb) => cb() }) });
  const dispatcher = new CommandDispatcher({
    ledger: await CommandLedger.open(node.stateDir, log), update: c, rebooter: null, refreshInventory: async () => {}, onConfig: async () => {}, report: async () => {}, log,
  });
  // A hub's offer pins its bundle (E_OFFER_UNPINNED otherwise); the disk check comes first anyway.
  const { installWindows: _never, ...pinned } = offer('full-2'); // a hub may not offer a window that never opens (E_WINDOW_NEVER_OPENS)
  const { manifestSha256 } = await readBundleIdentity(kit.bundle);
  const full = await dispatcher.handle({ v: 1, type: 'offer', id: 'cmd-full-2', version: '2.0.0', release: '2', ...pinned, bundle: { ...pinned.bundle, manifestSha256 } });
  assert.deepEqual([full.result, full.code], ['rejected', 'E_STATE_NO_SPACE'], `a coded refusal while the disk is full: ${full.message}`);
  const env = await node.env().read();
  assert.equal(env.BOOT_ORDER, 'A', 'the old slot stays primary');
  assert.notEqual(env.OUTPOST_B_GOOD, '1');

  await rm(filler());
  const freed = performance.now();
  const next = await waitFor('an offer accepted after space came back', async () => {
    const r = await c.offer(offer('full-3'));
    return r.result === 'accepted' ? r : null;
  }, RETRY_PERIOD_MS + 30_000);
  const ms = performance.now() - freed;
  assert.deepEqual(next, { result: 'accepted' });
  process.stdout.write(`# offer accepted ${Math.round(ms)} ms after the space came back (retry period ${RETRY_PERIOD_MS} ms)\n`);
  await waitsToArm('full-3');
  assert.equal(await c.cancel('full-3'), true);
  assert.equal((await d.outcome('full-3')).result, 'cancelled');
  await node.assertBootable('after the full disk');
});

test('disk full for a moment during a download: the write is retried and the deployment carries on', { skip, timeout: 300_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  assert.deepEqual(await c.offer(offer('blip-1')), { result: 'accepted' });
  await writing(d, 'blip-1');
  await fill();
  await waitFor('a state write retried', () => d.logs.some((l) => /^cannot write .*; retrying$/.test(String(l.msg))), 60_000);
  await rm(filler());
  await waitsToArm('blip-1');
  assert.equal(d.events.some((e) => e.type === 'outcome' && e.deploymentId === 'blip-1'), false, 'it did not end');
  assert.equal(await c.cancel('blip-1'), true);
  assert.equal((await d.outcome('blip-1')).result, 'cancelled');
});

test('cancel while a state write is retried on a full disk ends it as cancelled at once', { skip, timeout: 300_000 }, async () => {
  const d = await daemon();
  const c = d.stack.controller;
  assert.deepEqual(await c.offer(offer('cx-1')), { result: 'accepted' });
  await writing(d, 'cx-1');
  await fill();
  try {
    await waitFor('a state write retried', () => d.logs.some((l) => /^cannot write .*; retrying$/.test(String(l.msg)) && l.deployment === 'cx-1'), 60_000);
    assert.equal(await c.cancel('cx-1'), true);
    const o = await d.outcome('cx-1');
    assert.deepEqual([o.result, o.code], ['cancelled', 'E_CANCELLED']);
  } finally {
    await rm(filler());
  }
  assert.deepEqual(await c.offer(offer('cx-2')), { result: 'accepted' });
  await waitsToArm('cx-2');
  assert.equal((await node.env().read()).BOOT_ORDER, 'A');
  assert.equal(await c.cancel('cx-2'), true);
  await d.outcome('cx-2');
});

test('disk full after arming: the drive stops where the journal is, the service is free, and the next start carries on to commit', { skip, timeout: 300_000 }, async () => {
  // The reboot command runs (the simulated node comes up on B) and the disk fills just then: the
  // journal cannot move on to awaiting_boot.
  const svc = await faultyService(node, {
    stateWriteRetryMs: [50, 50],
    rebooter: (sim) => ({ reboot: async (why) => (await fill(), await sim.reboot(why)) }),
  });
  const r = await svc.start(fileSource(kit.bundle));
  assert.deepEqual(r.kind === 'stopped' && r.state, 'rebooting', JSON.stringify(r));
  assert.equal((await node.journal())?.state, 'rebooting', 'the journal on disk names the step that ran');
  // Not wedged: the service answers with the disk's code while it is full, and once there is room
  // refuses a new deployment only because this one is past arming.
  await assert.rejects(svc.start(fileSource(kit.bundle)), (e) => isOutpostError(e, 'E_STATE_NO_SPACE'));
  await rm(filler());
  await assert.rejects(svc.start(fileSource(kit.bundle)), (e) => isOutpostError(e, 'E_UPDATE_BUSY'));
  const after = await svc.resumeAfterBoot();
  assert.deepEqual(after && after.kind === 'outcome' && after.outcome, 'committed', JSON.stringify(after));
  assert.equal(await node.booted(), 'B');
  await node.assertBootable('after a full disk past arming');
});
