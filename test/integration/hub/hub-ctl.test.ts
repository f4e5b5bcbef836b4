// The operator CLI against the reference hub process: list, accept with a group, offer to the
// group, show, config.push; and a refused request exits 1 with a stable code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startHubProcess, waitFor } from '../../support/dev-hub.ts';
import { testBundle } from '../../support/hub-in-process.ts';
import { identityFromKey } from '../../../agent/identity/device-identity.ts';
import { startTestClient } from '../../support/hub-client.ts';

const CTL = resolve(import.meta.dirname, '../../../bin/outpost-hub.js');
const run = promisify(execFile);

test('hub-ctl: nodes, accept --group, offer --group, show, command --type config.push; errors exit 1 with E_HUB_ADMIN', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-ctl-'));
  await mkdir(join(dir, 'bundles'));
  await testBundle(join(dir, 'bundles', 'app.bundle'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--pending-retry', '1'] });
  const base = ['ctl', '--hub', hub.apiUrl, '--token', hub.token];
  const ctl = async (...args: string[]) => JSON.parse((await run(process.execPath, [CTL, ...base, '--json', ...args])).stdout);
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, 'ctl-1');
  const { client, stop } = await startTestClient({ url: hub.agentUrl, identity, dir: join(dir, 'agent'), timings: { authTimeoutMs: 30_000, healthDeadlineMs: 500 } });
  try {
    const listed = await waitFor('pending node listed', async () => ((await ctl('nodes', '--status', 'pending')) as { nodes: Array<{ status: string; fingerprint: string }> }).nodes[0]);
    // Readable by default: a table with a header row.
    const table = (await run(process.execPath, [CTL, ...base, 'nodes'])).stdout;
    assert.match(table, /^FINGERPRINT\s+DEVICE\s+STATUS\s+ONLINE/);
    assert.match(table, new RegExp(`${identity.fingerprint.slice(0, 12)}\\s+ctl-1\\s+pending`));
    assert.equal(listed.fingerprint, identity.fingerprint);
    await ctl('accept', identity.fingerprint.slice(0, 12), '--group', 'lobby');
    await waitFor('authenticated after acceptance', () => client.link.isAuthenticated());
    assert.equal(((await ctl('nodes', '--group', 'lobby')) as { nodes: unknown[] }).nodes.length, 1, 'the --group filter works');
    assert.equal(((await ctl('nodes', '--group', 'nobody')) as { nodes: unknown[] }).nodes.length, 0);
    const offered = (await ctl('offer', '--group', 'lobby', '--bundle', 'app.bundle')) as Array<{ node: string; delivered: boolean }>;
    assert.deepEqual(offered.map((o) => [o.node, o.delivered]), [[identity.fingerprint, true]]);
    const [shown] = await waitFor('ack recorded', async () => {
      const r = (await ctl('show', 'ctl-1')) as Array<{ acks: Array<{ type: string; code?: string }>; groups: string[] }>;
      return r[0]?.acks.length ? r : null;
    });
    assert.deepEqual(shown!.groups, ['lobby']);
    assert.deepEqual([shown!.acks[0]!.type, shown!.acks[0]!.code], ['offer', 'E_COMMAND_UNSUPPORTED']);
    // config.push from the command line: the node stores what it acknowledged.
    const [push] = (await ctl('command', '--node', 'ctl-1', '--type', 'config.push', '--config', '{"reportIntervals":{"locationS":60},"healthChecks":["hub-reachable"]}')) as Array<{ id: string; delivered: boolean }>;
    assert.equal(push!.delivered, true);
    await waitFor('config.push acked', async () => ((await ctl('show', 'ctl-1')) as Array<{ acks: Array<{ ref: string; result: string }> }>)[0]!.acks.some((a) => a.ref === push!.id && a.result === 'accepted'));
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'agent', 'hub-config.json'), 'utf8')), { reportIntervals: { locationS: 60 }, healthChecks: [{ name: 'hub-reachable' }] });
    await assert.rejects(run(process.execPath, [CTL, ...base, 'command', '--node', 'ctl-1', '--type', 'config.push', '--config', '{nope']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /^E_USAGE: --config expects JSON/);
      return true;
    });
    await assert.rejects(run(process.execPath, [CTL, ...base, 'command', '--node', 'ctl-1', '--type', 'config.push', '--config', '{"healthChecks":[{"name":"x","command":["/bin/true"]}]}']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^E_HUB_ADMIN: .*cannot carry a command/);
      return true;
    });
    await assert.rejects(run(process.execPath, [CTL, ...base, 'offer', '--node', 'ctl-1', '--bundle', 'missing']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^E_HUB_ADMIN: no bundle "missing"/);
      return true;
    });
  } finally {
    await stop();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
