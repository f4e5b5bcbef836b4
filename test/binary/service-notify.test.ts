// sd_notify through the real systemd-notify into a real unix datagram socket that reads the
// sender's credentials, as systemd's own notify socket does (python3 stands in for PID 1 only
// because Node cannot receive unix datagrams either).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRunner } from '../../agent/platform/exec.ts';
import { createServiceNotifier, parseServiceEnv } from '../../agent/platform/service-notify.ts';
import { silentLogger } from '../../agent/log/logger.ts';
import type { CommandRunner } from '../../agent/platform/types.ts';
import { startNotifyReceiver, type NotifyReceiver } from './notify-receiver.ts';

let dir = '';
let socketPath = '';
let receiver: NotifyReceiver | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-notify-'));
  socketPath = join(dir, 'notify.sock');
  receiver = await startNotifyReceiver(socketPath);
});

after(async () => {
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('READY, STATUS and STOPPING arrive with the agent pid as sender', async () => {
  const n = createServiceNotifier({
    env: { notifySocket: socketPath, watchdogUsec: 0 },
    runner: processRunner,
    log: silentLogger(),
    pid: process.pid,
  });
  assert.equal(n.enabled, true);
  const received = receiver!.received;
  received.length = 0;
  await n.ready('connected to\nhub');
  await n.status('idle');
  await n.stopping();
  await receiver!.until((r) => r.length >= 3);
  for (const d of received) {
    assert.equal(d.pid, process.pid, 'systemd attributes the message to the main process');
    assert.ok(d.fields.includes(`MAINPID=${process.pid}`));
  }
  assert.deepEqual(received[0]!.fields.filter((f) => !f.startsWith('MAINPID=')), ['READY=1', 'STATUS=connected to hub']);
  assert.deepEqual(received[1]!.fields.filter((f) => !f.startsWith('MAINPID=')), ['STATUS=idle']);
  assert.deepEqual(received[2]!.fields.filter((f) => !f.startsWith('MAINPID=')), ['STOPPING=1']);
});

test('the watchdog pings at half of WATCHDOG_USEC until aborted', async () => {
  const n = createServiceNotifier({
    env: parseServiceEnv({ NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) }, process.pid),
    runner: processRunner,
    log: silentLogger(),
    pid: process.pid,
  });
  const received = receiver!.received;
  received.length = 0;
  const stop = new AbortController();
  n.startWatchdog(stop.signal);
  const keepAlive = setInterval(() => {}, 1000); // the watchdog timer is unref'd by design
  try {
    await receiver!.until((r) => r.filter((d) => d.fields.includes('WATCHDOG=1')).length >= 3);
  } finally {
    stop.abort();
    clearInterval(keepAlive);
  }
  const seen = received.length;
  // After abort no further ping is started; one already in flight may still land.
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(received.length <= seen + 1, `pings after abort: ${received.length - seen}`);
});

test('a send that fails is E_SERVICE_NOTIFY, not a crash', async () => {
  const n = createServiceNotifier({
    env: { notifySocket: join(dir, 'nobody-listens.sock'), watchdogUsec: 0 },
    runner: processRunner,
    log: silentLogger(),
    pid: process.pid,
  });
  await assert.rejects(n.ready(), (err: Error & { code?: string }) => err.code === 'E_SERVICE_NOTIFY');
});

test('outside systemd nothing is sent and no process is spawned', async () => {
  let spawned = 0;
  const counting: CommandRunner = { run: (f, a, o) => (spawned++, processRunner.run(f, a, o)) };
  const env = parseServiceEnv({ WATCHDOG_USEC: '1000' }, process.pid);
  const n = createServiceNotifier({ env, runner: counting, log: silentLogger(), pid: process.pid });
  assert.equal(n.enabled, false);
  await n.ready();
  n.startWatchdog(new AbortController().signal);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(spawned, 0);
});

test('parseServiceEnv ignores a watchdog meant for another process and junk values', () => {
  assert.deepEqual(parseServiceEnv({ NOTIFY_SOCKET: '@x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, 42), {
    notifySocket: '@x',
    watchdogUsec: 0,
  });
  assert.deepEqual(parseServiceEnv({ NOTIFY_SOCKET: '', WATCHDOG_USEC: 'soon' }, 42), { notifySocket: null, watchdogUsec: 0 });
  assert.deepEqual(parseServiceEnv({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60000000' }, 42), {
    notifySocket: '/run/systemd/notify',
    watchdogUsec: 60_000_000,
  });
});
