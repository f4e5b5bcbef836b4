// `outpost run` under a stand-in for systemd: READY once started, WATCHDOG pings, STOPPING on
// SIGTERM, exit 0. (test/binary/run.test.ts checks the same for the single executable.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startHubProcess } from '../../support/dev-hub.ts';
import { startNotifyReceiver, type Datagram } from '../../binary/notify-receiver.ts';
import { writeAgentConfig } from './agent-config.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');

test('outpost run reports READY, pings the watchdog and says STOPPING on SIGTERM', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-run-'));
  await mkdir(join(dir, 'bundles'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--accept-all'] });
  const receiver = await startNotifyReceiver(join(dir, 'notify.sock'));
  try {
    const config = await writeAgentConfig(join(dir, 'node'), hub.agentUrl);
    const agent = spawn(process.execPath, [BIN, 'run', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '400000' },
    });
    let stderr = '';
    agent.stderr!.on('data', (b: Buffer) => (stderr += b));
    const exited = once(agent, 'exit');
    const from = (r: Datagram[], field: string) => r.filter((d) => d.pid === agent.pid && d.fields.includes(field));
    try {
      await receiver.until((r) => from(r, 'READY=1').length === 1);
      await receiver.until((r) => from(r, 'WATCHDOG=1').length >= 2);
    } finally {
      agent.kill('SIGTERM');
    }
    await receiver.until((r) => from(r, 'STOPPING=1').length === 1);
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  } finally {
    await receiver.close();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
