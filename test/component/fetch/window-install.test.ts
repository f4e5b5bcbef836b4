// The update machine behind the window gate (injected clock): the window closes mid-download,
// the deployment is stopped (journal kept, not failed or rolled back), and at the next open it
// continues from the journal's block and goes on to arm the new slot. A close after the download
// (while the deployment waits for its install window) does not stop it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { startFlakyServer } from '../../support/flaky-http-server.ts';
import { VirtualClock } from '../../unit/window/virtual-clock.ts';
import { loadConfig, rootPath } from '../../../agent/config/load.ts';
import { createUpdateApp } from '../../../agent/app/update-app.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { loadTrustStore } from '../../../agent/bundle/trust-file.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import { DownloadGate } from '../../../agent/fetch/download-gate.ts';
import { HttpBundleSource } from '../../../agent/fetch/http-source.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { runInWindows } from '../../../agent/window/scheduler.ts';
import { WindowPlan } from '../../../agent/window/plan.ts';
import { join } from 'node:path';

const kit = await makeKit({ imageSize: 4 << 20, blockSize: 64 << 10 });
const node = await TestNode.create({ kit, slotSize: 8 << 20, checkpointBytes: 128 << 10 });
const server = await startFlakyServer({ body: await readFile(kit.bundle) });
after(async () => {
  await server.close();
  await node.dispose();
  await kit.dispose();
});

const Z = (s: string) => Date.parse(s + 'Z');

test('window close stops the deployment mid-write; the next open resumes it by Range and arms', async () => {
  const config = await loadConfig(node.configPath);
  const trust = await loadTrustStore(rootPath(config, config.bundle.trustStore));
  const verifier = createVerifier({ trust, releaseFloor: 0, compatible: config.bundle.compatible });
  const clock = new VirtualClock(Z('2026-11-21T01:00'));
  const gate = new DownloadGate({ windows: [{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'UTC' }], maxBytesPerSecond: null, budget: null, now: clock.now, sleep: clock.sleep, recheckMs: 600_000 });
  const source = () => new HttpBundleSource(server.url, { transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }), throttle: gate.throttle });
  const { service } = await createUpdateApp(config, { logger: silentLogger(), verifier, releaseFloor: null, sourceFor: () => source() });
  const states: string[] = [];
  let closing: Promise<void> | null = null;
  service.subscribe((e) => {
    if (e.type === 'state') states.push(e.state);
    if (e.type === 'progress' && e.done >= 1 << 20 && !closing) {
      closing = clock.advanceTo(Z('2026-11-21T02:00')); // the window ends while blocks are being written
    }
  });
  const shutdown = AbortSignal.timeout(60_000);
  const running = runInWindows(gate, { stop: () => service.stop(), resume: () => service.resumeAfterBoot() }, () => service.start(source()), shutdown);

  // Wait until the window has closed and the scheduler sleeps until the next one (the session's
  // own timer is gone by then, so a pending sleep is the scheduler's).
  while (!closing) await new Promise((r) => setTimeout(r, 5));
  await closing;
  while (clock.pending === 0) await new Promise((r) => setTimeout(r, 5));
  const paused = await node.journal();
  assert.equal(paused?.state, 'writing', 'stopped in writing, not failed');
  assert.ok(paused!.progress!.nextBlock > 0);
  assert.equal(server.requests.length, 1);

  await clock.advanceTo(Z('2026-11-22T01:00'));
  const result = await running;
  assert.equal(result?.kind, 'parked', JSON.stringify(result));
  assert.ok(!states.includes('failed') && !states.includes('reverting'), states.join(' '));
  assert.equal(server.requests.length, 2);
  assert.match(server.requests[1]!.range ?? '', /^bytes=\d+-/);
  assert.equal(await node.reboot(), 'B');
  assert.equal(await node.holds('B'), 'new');
});

test('the download window closes while the deployment waits for its install window: it is not stopped, and arms at the install window', async () => {
  const node2 = await TestNode.create({ kit, slotSize: 8 << 20, checkpointBytes: 128 << 10 });
  try {
    const config = await loadConfig(node2.configPath);
    const trust = await loadTrustStore(rootPath(config, config.bundle.trustStore));
    const verifier = createVerifier({ trust, releaseFloor: 0, compatible: config.bundle.compatible });
    const clock = new VirtualClock(Z('2026-11-21T01:00'));
    const downloadWindows = [{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'UTC' }];
    const gate = new DownloadGate({ windows: downloadWindows, maxBytesPerSecond: null, budget: null, now: clock.now, sleep: clock.sleep, recheckMs: 600_000 });
    const plan = new WindowPlan({
      dir: join(node2.stateDir, 'update'), gate, sleep: clock.sleep,
      configured: { windows: downloadWindows, installWindows: [{ cron: '0 3 * * *', durationMinutes: 60, timezone: 'UTC' }] },
    });
    const source = () => new HttpBundleSource(server.url, { transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }), throttle: gate.throttle });
    const { service } = await createUpdateApp(config, { logger: silentLogger(), verifier, releaseFloor: null, sourceFor: () => source(), installWindows: plan, now: clock.now });
    const states: string[] = [];
    service.subscribe((e) => e.type === 'state' && states.push(e.state));
    const downloading = () => ['preparing', 'writing'].includes(states.at(-1) ?? 'preparing');
    let stops = 0;
    const steps = { stop: () => (stops++, service.stop()), resume: () => service.resumeAfterBoot() };
    const running = runInWindows(gate, steps, () => service.start(source()), AbortSignal.timeout(60_000), undefined, downloading);

    while (!(states.at(-1) === 'awaiting_install_window' && clock.pending >= 2)) await new Promise((r) => setTimeout(r, 5));
    await clock.advanceTo(Z('2026-11-21T02:30')); // download window closed, install window not yet open
    assert.equal(stops, 0, 'the closing download window did not stop the deployment');
    assert.equal(states.at(-1), 'awaiting_install_window');
    assert.equal((await node2.env().read()).BOOT_ORDER, 'A');
    await clock.advanceTo(Z('2026-11-21T03:00'));
    const result = await running;
    assert.equal(result?.kind, 'parked', JSON.stringify(result));
    assert.deepEqual(states, ['preparing', 'writing', 'verifying', 'awaiting_install_window', 'arming', 'rebooting', 'awaiting_boot']);
  } finally {
    await node2.dispose();
  }
});
