// Install/reboot windows with an injected clock: a written and verified slot waits in
// awaiting_install_window (nothing armed) until a window opens, then arms and reboots. The offer's
// own windows are persisted and still honoured after a restart; a hub push wakes the waiter; a
// cancel while waiting abandons without touching the running slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestNode } from '../../support/test-node.ts';
import { updateNodes } from '../../support/update-nodes.ts';
import { loadConfig, type Config } from '../../../agent/config/load.ts';
import { openUpdateApp } from '../../../agent/app/update-app.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { WindowPlan } from '../../../agent/window/plan.ts';
import type { UpdateService } from '../../../agent/update/service.ts';
import { VirtualClock, settle } from '../../unit/window/virtual-clock.ts';

const FRIDAY_22 = Date.parse('2026-11-20T22:00:00Z');
const SATURDAY_01 = Date.parse('2026-11-21T01:00:00Z');
const SUNDAY_03 = Date.parse('2026-11-22T03:00:00Z');
const SUNDAY_3AM = { cron: '0 3 * * sun', durationMinutes: 60, timezone: 'UTC' };
const SATURDAY_1AM = { cron: '0 1 * * sat', durationMinutes: 30, timezone: 'UTC' };

const nodes = updateNodes({ imageSize: 1 << 20, blockSize: 64 << 10 }, { slotSize: 2 << 20, checkpointBytes: 128 << 10 });

interface Daemon {
  service: UpdateService;
  plan: WindowPlan;
  states: string[];
}

async function setup(): Promise<{ node: TestNode; config: Config }> {
  const node = await nodes.node();
  const base = await loadConfig(node.configPath);
  const config: Config = { ...base, fetch: { ...base.fetch, installWindows: [SUNDAY_3AM] } };
  return { node, config };
}

/** The daemon's update parts as app.ts builds them, on the virtual clock (a "process start"). */
async function start(node: TestNode, config: Config, clock: VirtualClock): Promise<Daemon> {
  const plan = new WindowPlan({ dir: join(node.stateDir, 'update'), configured: config.fetch, gate: null, sleep: clock.sleep });
  await plan.load();
  const { service } = await openUpdateApp(config, { installWindows: plan, now: clock.now });
  const states: string[] = [];
  service.subscribe((e) => e.type === 'state' && states.push(e.state));
  return { service, plan, states };
}

async function waiting(d: Daemon, clock: VirtualClock): Promise<void> {
  for (let i = 0; i < 2000 && !(d.states.at(-1) === 'awaiting_install_window' && clock.pending > 0); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(d.states.at(-1), 'awaiting_install_window');
  assert.ok(clock.pending > 0, 'the handler sleeps on the injected clock');
}

test('written and verified on Friday night, armed and rebooted only when the Sunday 03:00 window opens', async () => {
  const { node, config } = await setup();
  const clock = new VirtualClock(FRIDAY_22);
  const d = await start(node, config, clock);
  const run = d.service.start(fileSource(nodes.kit.bundle), { id: 'd-sunday' });
  await waiting(d, clock);
  assert.deepEqual(d.states, ['preparing', 'writing', 'verifying', 'awaiting_install_window']);
  assert.equal((await node.env().read()).BOOT_ORDER, 'A', 'not armed while the window is closed');
  assert.equal(await node.holds('B'), 'new', 'the slot is already written and verified');

  await clock.advanceTo(SUNDAY_03 - 60_000);
  await settle();
  assert.equal(d.states.at(-1), 'awaiting_install_window', 'still closed at 02:59');
  await clock.advanceTo(SUNDAY_03);
  const r = await run;
  assert.deepEqual([r.kind, d.states.slice(-3)], ['parked', ['arming', 'rebooting', 'awaiting_boot']]);
  assert.equal(await node.booted(), 'B', 'the simulated reboot picked the new slot');
});

test("an offer's own install window is persisted: after a restart it still decides, not the configured one", async () => {
  const { node, config } = await setup();
  const clock = new VirtualClock(FRIDAY_22);
  const first = await start(node, config, clock);
  await first.plan.setDeployment({ deploymentId: 'd-offer', now: false, windows: null, installWindows: [SATURDAY_1AM] });
  const run = first.service.start(fileSource(nodes.kit.bundle), { id: 'd-offer' });
  await waiting(first, clock);
  first.service.stop(); // shutdown: the journal keeps awaiting_install_window
  assert.equal((await run).kind, 'stopped');
  assert.equal((await node.journal())?.state, 'awaiting_install_window');

  const second = await start(node, config, clock);
  assert.deepEqual(second.plan.deployment?.installWindows, [{ ...SATURDAY_1AM, maxBytesPerSecond: null }]);
  const resumed = second.service.resumeAfterBoot();
  await waiting(second, clock);
  await clock.advanceTo(SATURDAY_01);
  assert.equal((await resumed)?.kind, 'parked');
  // The slot is read back again after the restart (finding 5), then the wait continues.
  assert.deepEqual(second.states, ['verifying', 'awaiting_install_window', 'arming', 'rebooting', 'awaiting_boot']);
});

test('a hub push with an open install window wakes the waiting deployment at once', async () => {
  const { node, config } = await setup();
  const clock = new VirtualClock(FRIDAY_22);
  const d = await start(node, config, clock);
  const run = d.service.start(fileSource(nodes.kit.bundle), { id: 'd-push' });
  await waiting(d, clock);
  d.plan.setPushed({ installWindows: [{ cron: '0 22 * * fri', durationMinutes: 120, timezone: 'UTC' }] });
  assert.equal((await run).kind, 'parked');
  assert.equal(clock.t, FRIDAY_22, 'no time had to pass');
});

test('an invalid window is refused with its code and changes nothing', async () => {
  const { node, config } = await setup();
  const d = await start(node, config, new VirtualClock(FRIDAY_22));
  assert.throws(() => d.plan.setPushed({ installWindows: [{ cron: '0 25 * * *', durationMinutes: 60, timezone: 'UTC' }] }), { code: 'E_WINDOW_CRON' });
  await assert.rejects(
    d.plan.setDeployment({ deploymentId: 'x', now: false, windows: [{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'Mars/Olympus' }], installWindows: null }),
    { code: 'E_WINDOW_TIMEZONE' },
  );
  assert.equal(d.plan.deployment, null);
  assert.deepEqual(await d.plan.forDeployment('x'), [SUNDAY_3AM]);
});

test('cancel while waiting for the install window abandons: E_CANCELLED, old slot stays primary', async () => {
  const { node, config } = await setup();
  const clock = new VirtualClock(FRIDAY_22);
  const d = await start(node, config, clock);
  const run = d.service.start(fileSource(nodes.kit.bundle), { id: 'd-cancel' });
  await waiting(d, clock);
  d.service.cancel();
  const r = await run;
  assert.deepEqual(r.kind === 'outcome' && [r.outcome, r.error?.code], ['failed', 'E_CANCELLED']);
  assert.equal((await node.env().read()).BOOT_ORDER, 'A');
  await node.assertBootable('after cancel in the install wait');
});
