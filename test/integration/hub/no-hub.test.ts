// Regression: with `hub.url: null` ("no hub link, the agent still runs") `outpost run` exited
// after ~2 s with code 13 ("unsettled top-level await"): nothing kept the event loop alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent } from './agent-process.ts';
import { waitFor } from '../../support/dev-hub.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');

test('outpost run with hub.url null keeps running until SIGTERM, then exits 0', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'no-hub-'));
  const config = await writeAgentConfig(join(dir, 'node'), null as unknown as string);
  const agent = spawnAgent([BIN, 'run', '--config', config]);
  try {
    await waitFor('started without a hub', () => agent.logs().some((l) => l.msg === 'hub.url is null: running without a hub link'), 60_000);
    // The bug showed within two seconds of start-up; give a busy machine several times that.
    const exited = once(agent.proc, 'exit').then(() => true);
    assert.equal(await Promise.race([exited, sleep(8_000).then(() => false)]), false, `exited early: ${JSON.stringify(agent.logs().slice(-5))}`);
    assert.equal(await agent.stop('SIGTERM'), 0);
  } finally {
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('a ws:// hub URL is warned about loudly at start', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ws-warn-'));
  const config = await writeAgentConfig(join(dir, 'node'), 'ws://127.0.0.1:9/agent');
  const agent = spawnAgent([BIN, 'run', '--config', config]);
  try {
    const line = await waitFor('insecure warning', () => agent.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('INSECURE: hub.url uses ws://')), 60_000);
    assert.equal(line.level, 'error');
  } finally {
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
