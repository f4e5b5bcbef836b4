// Which windows apply: the deployment's own (from its offer) over the hub's push over the config,
// separately for download and install windows; "now" opens the real download gate for the
// deployment only; the deployment layer survives a restart (file) and goes when it ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WindowPlan, DEPLOYMENT_WINDOWS_FILE } from '../../../agent/window/plan.ts';
import { DownloadGate } from '../../../agent/fetch/download-gate.ts';
import { VirtualClock } from './virtual-clock.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const W = (cron: string) => ({ cron, durationMinutes: 60, timezone: 'UTC', maxBytesPerSecond: null });
const CONFIG_DL = W('0 1 * * *');
const CONFIG_IN = W('0 3 * * sun');
const NOON = Date.parse('2026-11-21T12:30:00Z'); // Saturday: every window below but "0 12" is closed

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'window-plan-'));
  dirs.push(dir);
  const clock = new VirtualClock(NOON);
  const gate = new DownloadGate({ windows: [CONFIG_DL], maxBytesPerSecond: null, budget: null, now: clock.now, sleep: clock.sleep });
  const make = () => new WindowPlan({ dir, configured: { windows: [CONFIG_DL], installWindows: [CONFIG_IN] }, gate, sleep: clock.sleep });
  return { dir, clock, gate, make };
}

test('layers: deployment over push over config, for download and install windows separately', async () => {
  const { gate, make } = await setup();
  const plan = make();
  await plan.load();
  assert.deepEqual(gate.windows, [CONFIG_DL]);
  assert.deepEqual(await plan.forDeployment('d-1'), [CONFIG_IN]);
  assert.equal(gate.status().open, false);

  plan.setPushed({ windows: [W('0 12 * * *')] });
  assert.deepEqual(gate.windows, [W('0 12 * * *')]);
  assert.equal(gate.status().open, true, 'the pushed download window is open at 12:30');
  assert.deepEqual(await plan.forDeployment('d-1'), [CONFIG_IN], 'a push without install windows keeps the configured ones');

  await plan.setDeployment({ deploymentId: 'd-1', now: false, windows: [W('0 2 * * *')], installWindows: [] });
  assert.deepEqual(gate.windows, [W('0 2 * * *')], "the offer's own windows win");
  assert.equal(gate.status().open, false);
  assert.deepEqual(await plan.forDeployment('d-1'), [], 'its empty install list means any time');
  assert.deepEqual(await plan.forDeployment('d-other'), [CONFIG_IN], 'only for that deployment');

  await plan.endDeployment('d-1');
  assert.deepEqual(gate.windows, [W('0 12 * * *')], 'back to the push');
  plan.setPushed({});
  assert.deepEqual(gate.windows, [CONFIG_DL], 'an empty push falls back to the config');
});

test('now opens the gate for the deployment, survives a restart, and ends with the deployment', async () => {
  const { dir, gate, make } = await setup();
  await make().setDeployment({ deploymentId: 'd-now', now: true, windows: null, installWindows: null });
  assert.deepEqual([gate.status().open, gate.status().reason], [true, 'override']);
  gate.setOverride(null); // as a fresh process would start

  const restarted = make();
  assert.equal((await restarted.load())?.deploymentId, 'd-now');
  assert.deepEqual([gate.status().open, gate.status().reason], [true, 'override']);
  await restarted.endDeployment('d-now');
  assert.equal(gate.status().open, false);
  assert.ok(!(await readdir(dir)).includes(DEPLOYMENT_WINDOWS_FILE), 'file removed');
  await restarted.endDeployment('d-now'); // idempotent
});

test('a corrupt deployment file is set aside and ignored', async () => {
  const { dir, make } = await setup();
  await writeFile(join(dir, DEPLOYMENT_WINDOWS_FILE), '{"deploymentId":"d","now":"yes"}');
  const plan = make();
  assert.equal(await plan.load(), null);
  assert.ok((await readdir(dir)).some((f) => f.startsWith(`${DEPLOYMENT_WINDOWS_FILE}.corrupt`)));
});

test('a refused push keeps the previous one in force', async () => {
  const { gate, make } = await setup();
  const plan = make();
  plan.setPushed({ windows: [W('0 12 * * *')] });
  assert.throws(() => plan.setPushed({ windows: [W('0 12 * * *')], installWindows: [W('61 * * * *')] }), { code: 'E_WINDOW_CRON' });
  assert.deepEqual(gate.windows, [W('0 12 * * *')]);
  assert.deepEqual(await plan.forDeployment('x'), [CONFIG_IN]);
});

test('wait ends early when a layer changes, and rejects on abort', async () => {
  const { clock, make } = await setup();
  const plan = make();
  const woken = plan.wait(3_600_000, new AbortController().signal);
  plan.setPushed({ installWindows: [W('0 13 * * *')] });
  await woken;
  assert.equal(clock.t, NOON, 'no time passed');
  const ac = new AbortController();
  const waiting = plan.wait(3_600_000, ac.signal);
  ac.abort(new Error('shutdown'));
  await assert.rejects(waiting, /shutdown/);
});
