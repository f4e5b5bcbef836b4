// Offer → progress → outcome through the real outbox and websocket, with the hub killed and
// restarted mid-deployment: every report must arrive exactly once and in order, and the offer
// must run once however often it is replayed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { testBundle } from '../../support/hub-in-process.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHubProcess, waitFor, type HubProcess } from '../../support/dev-hub.ts';
import { writeAgentConfig } from './agent-config.ts';
import { spawnAgent, type AgentProcess } from './agent-process.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/agent-with-fake-update.ts');
const STEPS = 150;
let dir: string;
let hub: HubProcess;
let agent: AgentProcess | null = null;

interface NodeDetail {
  fingerprint: string;
  ackedSeq: number;
  history: Array<{ seq: number; type: string }>;
  deployment: { id: string; state: string; outcome: { result: string; log: string } | null } | null;
  acks: Array<{ ref: string; type: string; result: string }>;
  outstanding: Array<{ id: string }>;
}

const detail = async () => (await hub.admin<NodeDetail[]>('POST', '/admin/node', { node: 'dep-1' }))[0]!;
const hubArgs = (fp: string) => ({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles'), args: ['--preauthorize', fp] });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-dep-'));
  await mkdir(join(dir, 'bundles'));
  await testBundle(join(dir, 'bundles', 'app-2.0.bundle'), { version: '2.0', release: 2 });
});

after(async () => {
  await agent?.stop('SIGKILL');
  await hub?.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('hub killed mid-deployment: reports arrive exactly once, in order; offers run once', async () => {
  const root = join(dir, 'agent');
  const id = await loadOrCreateIdentity(join(root, 'state', 'identity'), 'dep-1');
  hub = await startHubProcess(hubArgs(id.fingerprint));
  const port = hub.port;
  const config = await writeAgentConfig(root, hub.agentUrl, { deviceId: 'dep-1', inventoryIntervalS: 1 });
  agent = spawnAgent([FIXTURE, config, String(STEPS), '15']);
  await waitFor('node online', async () => (await detail())?.ackedSeq >= 1);

  const [offer] = await hub.admin<Array<{ id: string }>>('POST', '/admin/offer', {
    node: 'dep-1', bundle: 'app-2.0.bundle', deploymentId: 'dep-A',
  });
  const before = await waitFor('deployment under way', async () => {
    const d = await detail();
    return d.history.filter((h) => h.type === 'update.state').length >= 20 ? d : null;
  });
  assert.ok(before.history.filter((h) => h.type === 'update.state').length < STEPS, 'the crash lands mid-deployment');

  // Crash the hub mid-stream, keep it down a moment, bring it back on the same port and file.
  await hub.stop('SIGKILL');
  const crashed = hub;
  await new Promise((r) => setTimeout(r, 700));
  hub = await startHubProcess({ ...hubArgs(id.fingerprint), port });

  const done = await waitFor('outcome delivered', async () => {
    const d = await detail();
    return d.deployment?.outcome ? d : null;
  }, 30_000);
  assert.equal(done.deployment!.id, 'dep-A');
  assert.equal(done.deployment!.outcome!.result, 'success');
  assert.match(done.deployment!.outcome!.log, /installed 2.0/);

  // Exactly once, in order: the hub's history is 1..N with no gap or repeat.
  const seqs = done.history.map((h) => h.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  const states = done.history.filter((h) => h.type === 'update.state').length;
  assert.equal(states, STEPS, 'every state change arrived');
  assert.equal(done.history.filter((h) => h.type === 'update.outcome').length, 1);
  assert.ok(agent.logs().filter((l) => l.msg === 'authenticated with the hub').length >= 2, 'the agent reconnected');

  // Replays: the same command id again, and a new command for the same deployment.
  // The hub logs every ack it receives (its store keeps the first one of each command).
  const acksFor = (ref: string) => (crashed.stderr() + hub.stderr()).split('\n').filter((l) => l.includes('"command acknowledged"') && l.includes(`"ref":"${ref}"`)).map((l) => /"result":"(\w+)"/.exec(l)?.[1]);
  assert.deepEqual(acksFor(offer!.id), ['accepted']);
  await hub.admin('POST', '/admin/resend', { node: 'dep-1', id: offer!.id });
  await waitFor('replayed command acked', () => acksFor(offer!.id).length === 2);
  assert.deepEqual(acksFor(offer!.id), ['accepted', 'duplicate']);
  const [again] = await hub.admin<Array<{ id: string }>>('POST', '/admin/offer', {
    node: 'dep-1', bundle: 'app-2.0.bundle', deploymentId: 'dep-A',
  });
  await waitFor('second offer acked', () => acksFor(again!.id).length === 1);
  assert.deepEqual(acksFor(again!.id), ['duplicate']);
  assert.equal(agent.logs().filter((l) => l.msg === 'fake-update offer accepted').length, 1, 'one deployment started');
  assert.deepEqual((await detail()).outstanding, []);
});
