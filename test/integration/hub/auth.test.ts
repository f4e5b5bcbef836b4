// The real agent process (bin/outpost.js run) against the real reference hub process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startHubProcess, waitFor, type HubProcess } from '../../support/dev-hub.ts';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent, listeningSockets, socketCount, type AgentProcess } from './agent-process.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');
let dir: string;
let hub: HubProcess;
const agents: AgentProcess[] = [];

interface NodeSummary { fingerprint: string; deviceId: string; status: string; online: boolean; ackedSeq: number }
const nodes = async () => (await hub.admin<{ nodes: NodeSummary[] }>('GET', '/admin/nodes')).nodes;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-auth-'));
  await mkdir(join(dir, 'bundles'));
  // A node provisioned with a known key is pre-authorised on the hub's command line.
  const pre = await loadOrCreateIdentity(join(dir, 'pre', 'state', 'identity'), 'pre-1');
  hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--pending-retry', '1', '--preauthorize', pre.fingerprint] });
});

after(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

const start = async (name: string, hubConf: Record<string, unknown> = {}) => {
  const config = await writeAgentConfig(join(dir, name), hub.agentUrl, hubConf);
  const a = spawnAgent([BIN, 'run', '--config', config]);
  agents.push(a);
  return a;
};

test('unknown key waits as pending; accepted by fingerprint it reports inventory; it listens on no port', async () => {
  const a = await start('gate', { deviceId: 'gate-1' });
  const pending = await waitFor('pending node', async () => (await nodes()).find((n) => n.deviceId === 'gate-1' && n.status === 'pending'));
  await waitFor('agent logs pending', () => a.logs().some((l) => String(l.msg).includes('pending')));
  assert.equal(pending.ackedSeq, 0, 'a pending node delivers nothing');
  await hub.admin('POST', '/admin/accept', { node: pending.fingerprint });
  const ok = await waitFor('inventory delivered', async () => (await nodes()).find((n) => n.deviceId === 'gate-1' && n.online && n.ackedSeq >= 1), 30_000);
  assert.equal(ok.status, 'accepted');
  const [node] = await hub.admin<Array<{ inventory: Record<string, unknown>; history: Array<{ type: string }> }>>('POST', '/admin/node', { node: 'gate-1' });
  assert.equal(node!.history[0]!.type, 'inventory');
  assert.equal(node!.inventory['agent.version'], '0.1.0', 'the real inventory collector ran');
  // Outbound only: the agent holds a socket to the hub but listens on nothing.
  assert.ok((await socketCount(a.proc.pid!)) >= 1);
  assert.deepEqual(await listeningSockets(a.proc.pid!), []);
  const ss = execFileSync('ss', ['-ltnup'], { encoding: 'utf8' });
  assert.ok(ss.includes(`pid=${hub.proc.pid},`), 'ss sees the hub listening (the check can fail)');
  assert.ok(!ss.includes(`pid=${a.proc.pid},`), `ss shows the agent listening:\n${ss}`);
  assert.equal(await a.stop('SIGTERM'), 0, 'SIGTERM is a clean shutdown');
});

test('a pre-authorised fingerprint is accepted without an operator step; its surveyed location arrives', async () => {
  const config = await writeAgentConfig(join(dir, 'pre'), hub.agentUrl, { deviceId: 'pre-1', locationIntervalS: 1 }, {
    location: { gpsd: false, siteId: 'munich-1', latitude: 48.137, longitude: 11.575 },
  });
  const a = spawnAgent([BIN, 'run', '--config', config]);
  agents.push(a);
  const n = await waitFor('pre-authorised node online', async () => (await nodes()).find((x) => x.deviceId === 'pre-1' && x.online));
  assert.equal(n.status, 'accepted');
  const [full] = await waitFor('location stored', async () => {
    const r = await hub.admin<Array<{ location: { lat: number; lon: number; source: string } | null }>>('POST', '/admin/node', { node: 'pre-1' });
    return r[0]?.location ? r : null;
  });
  assert.deepEqual([full!.location!.lat, full!.location!.lon, full!.location!.source], [48.137, 11.575, 'survey']);
  await a.stop();
});

test('another key claiming an accepted device id is rejected (E_AUTH_KEY_MISMATCH)', async () => {
  const a = await start('impostor', { deviceId: 'gate-1' });
  const line = await waitFor('rejection logged', () => a.logs().find((l) => l.msg === 'hub rejected this node'));
  assert.equal(line.code, 'E_AUTH_KEY_MISMATCH');
  const all = await nodes();
  assert.equal(all.filter((n) => n.deviceId === 'gate-1').length, 1, 'the impostor was not registered');
  assert.equal(a.proc.exitCode, null, 'a rejected agent keeps running and retries later, it does not crash');
  await a.stop();
});
