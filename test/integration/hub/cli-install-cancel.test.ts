// Regression: a hub cancel of a deployment an on-site `outpost install URL` left behind when it
// was stopped with Ctrl-C. It used to be acknowledged and ignored: later offers were refused with
// E_UPDATE_BUSY and the next start resumed, rebooted and committed the "cancelled" update. Real
// agent process, real CLI process, reference hub; nothing is faked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from '../../support/dev-hub.ts';
import { spawnAgent } from './agent-process.ts';
import { readFile } from 'node:fs/promises';
import { BIN, startHubFleet, type HubFleet } from '../support/hub-fleet.ts';
import { startFlakyServer, type FlakyServer } from '../../support/flaky-http-server.ts';

let fleet: HubFleet;
// The operator's download: a plain web server on loopback (the hub's bundle URLs are per node).
let web: FlakyServer;

before(async () => {
  fleet = await startHubFleet('cli-cancel-');
  web = await startFlakyServer({ body: await readFile(fleet.kit.bundle) });
});

after(async () => {
  await web?.close();
  await fleet?.dispose();
});

interface Detail {
  deployment: { id: string; state: string | null; outcome: { result: string; code?: string } | null } | null;
  acks: Array<{ ref: string; result: string; code?: string }>;
}

test('CLI install interrupted, then a hub cancel: cancelled at the hub, target bad, later offers accepted, nothing resumes', { timeout: 240_000 }, async () => {
  // Slow downloads, so the operator's Ctrl-C lands in the middle of the write.
  const n = await fleet.node('cancel-1', { edit: (config) => void (config.fetch = { maxBytesPerSecond: 96 * 1024 }) });
  const detail = () => n.detail<Detail>();
  const acked = (ref: string) => waitFor(`ack of ${ref}`, async () => (await detail()).acks.find((a) => a.ref === ref), 60_000);
  let agent = await fleet.start(n).catch((err) => {
    for (const a of fleet.agents) process.stderr.write(a.logs().slice(-20).map((l) => JSON.stringify(l)).join('\n') + '\n');
    throw err;
  });

  // The daemon's own resume at start holds the update lock for a moment: an operator tries again.
  const install = () => {
    const child = spawn(process.execPath, [BIN, 'install', web.url, '--config', n.node.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { child, out: '', exited: once(child, 'exit') };
    child.stdout.on('data', (b) => (run.out += b));
    child.stderr.on('data', (b) => (run.out += b));
    return run;
  };
  let run = install();
  await waitFor('the CLI is writing', async () => {
    if (run.child.exitCode !== null) {
      if (!run.out.includes('E_UPDATE_BUSY')) throw new Error(`the CLI exited ${run.child.exitCode}: ${run.out}`);
      run = install();
    }
    return ((await n.node.journal())?.progress?.nextBlock ?? 0) >= 2;
  }, 90_000);
  const { child: cli, exited } = run;
  cli.kill('SIGINT');
  const [code] = await exited;
  assert.equal(code, 130, run.out);
  const stopped = (await n.node.journal())!;
  assert.equal(stopped.state, 'writing');

  const [cancel] = await fleet.hub.admin<Array<{ id: string }>>('POST', '/admin/command', { node: n.deviceId, type: 'cancel', deploymentId: stopped.id });
  assert.equal((await acked(cancel!.id)).result, 'accepted');
  const d = await waitFor('outcome at the hub', async () => {
    const x = await detail();
    return x.deployment?.id === stopped.id && x.deployment.outcome ? x : null;
  }, 60_000);
  assert.deepEqual([d.deployment!.outcome!.result, d.deployment!.outcome!.code], ['cancelled', 'E_CANCELLED']);
  const env = await n.node.env().read();
  assert.equal(env.BOOT_ORDER, 'A', 'the old slot stays primary');
  assert.notEqual(env.OUTPOST_B_GOOD, '1', 'the target is not good');
  assert.equal(env.BOOT_B_LEFT, '0', 'the target is not bootable');
  assert.deepEqual([(await n.node.journal())?.state, (await n.node.journal())?.error?.code], ['failed', 'E_CANCELLED']);

  // A restart resumes nothing.
  assert.equal(await agent.stop('SIGTERM'), 0);
  agent = spawnAgent([BIN, 'run', '--config', n.node.configPath]);
  fleet.agents.push(agent);
  await waitFor('the agent started again', () => agent.logs().some((l) => l.msg === 'authenticated with the hub'), 60_000);
  assert.equal((await n.node.journal())?.state, 'failed', 'nothing resumed');
  assert.equal(await n.node.booted(), 'A');

  // A later offer is accepted.
  const [offer] = await fleet.hub.admin<Array<{ id: string }>>('POST', '/admin/offer', {
    node: n.deviceId, bundle: 'app-2.bundle', deploymentId: 'dep-after-cancel', now: true,
  });
  assert.equal((await acked(offer!.id)).result, 'accepted');
  await waitFor('the new deployment runs', async () => (await n.node.journal())?.id === 'dep-after-cancel', 60_000);
});
