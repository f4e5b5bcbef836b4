// Finding 9: a trust store that does not load (a rotation file failing to verify) or a corrupt
// release floor used to make the daemon exit at start: no hub link, no resume, no revert, no
// way to fix the node remotely. The real agent process against the reference hub: it stays up,
// finishes the deployment it was in, and refuses offers with the trust/floor code until an
// operator fixes the file (no restart needed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../support/dev-hub.ts';
import { startHubFleet, type HubFleet } from '../support/hub-fleet.ts';

let fleet: HubFleet;

interface Detail {
  deployment: { id: string; state: string | null; outcome: { result: string; version?: string; code?: string } | null } | null;
  acks: Array<{ ref: string; type: string; result: string; code?: string }>;
}

before(async () => {
  fleet = await startHubFleet('bad-trust-');
});

after(async () => {
  await fleet?.dispose();
});

async function makeNode(deviceId: string) {
  const n = await fleet.node(deviceId, { healthChecks: [['/bin/true']] });
  const { node } = n;
  const detail = () => n.detail<Detail>();
  const start = () => fleet.start(n);
  const offer = async (deploymentId: string) => {
    const [issued] = await fleet.hub.admin<Array<{ id: string }>>('POST', '/admin/offer', { node: deviceId, bundle: 'app-2.bundle', deploymentId, now: true });
    return waitFor(`ack of ${deploymentId}`, async () => (await detail()).acks.find((a) => a.ref === issued!.id), 60_000);
  };
  return { node, detail, start, offer, trustDir: join(node.root, 'etc/outpost/trust'), floorFile: join(node.stateDir, 'release-floor') };
}

test('a rotation that fails to verify: the in-flight deployment still commits after the reboot; offers refused with E_TRUST_ROTATION until the file is fixed', { timeout: 240_000 }, async () => {
  const n = await makeNode('trust-1');
  let agent = await n.start();
  assert.equal((await n.offer('dep-1')).result, 'accepted');
  await waitFor('armed and rebooted', async () => (await n.detail()).deployment?.state === 'awaiting_boot', 30_000).catch(async (err) => {
    process.stderr.write(JSON.stringify(await n.detail()) + '\n' + agent.logs().slice(-30).map((l) => JSON.stringify(l)).join('\n') + '\n');
    throw err;
  });
  assert.equal(await agent.stop('SIGTERM'), 0);

  // While the node reboots, a rotation nobody signed lands in the trust store.
  const root = JSON.parse(await readFile(join(n.trustDir, 'root.json'), 'utf8'));
  await writeFile(join(n.trustDir, 'rotation-2.json'), JSON.stringify({ ...root, version: 2, signatures: [] }));

  agent = await n.start();
  const done = await waitFor('outcome at the hub', async () => (await n.detail()).deployment?.outcome, 60_000);
  assert.equal(done.result, 'success', 'the resumed deployment was checked and committed');
  assert.equal(done.version, '2.0.0', 'the hub keeps the version the node verified');
  assert.ok(agent.logs().some((l) => l.msg === 'bundle trust store or release floor unusable: every bundle is refused until it is fixed'));

  const refused = await n.offer('dep-2');
  assert.deepEqual([refused.result, refused.code], ['rejected', 'E_TRUST_ROTATION']);
  assert.equal(agent.proc.exitCode, null, 'the agent keeps running');

  // The operator removes the bad file: the next offer is taken without restarting the agent.
  await rm(join(n.trustDir, 'rotation-2.json'));
  assert.equal((await n.offer('dep-3')).result, 'accepted');
});

test('a corrupt release floor: the agent starts, links to the hub and refuses offers with E_FLOOR_CORRUPT', { timeout: 180_000 }, async () => {
  const n = await makeNode('floor-1');
  await writeFile(n.floorFile, 'not a number\n');
  const agent = await n.start();
  const refused = await n.offer('dep-f');
  assert.deepEqual([refused.result, refused.code], ['rejected', 'E_FLOOR_CORRUPT']);
  assert.equal(agent.proc.exitCode, null);
  assert.equal(await n.node.holds('B'), null, 'nothing written');
  assert.equal(await readFile(n.floorFile, 'utf8'), 'not a number\n', 'the floor file is left for the operator, never reset to 0');
});

// Finding 13: the node once loaded trust version 2 (its mark says so); rotation-2.json has since
// been deleted, leaving root.json (version 1). Offers are refused instead of trusting old keys.
test('a trust store older than the version this node already trusted: offers refused with E_TRUST_ROLLBACK', { timeout: 180_000 }, async () => {
  const n = await makeNode('mark-1');
  await writeFile(join(n.node.stateDir, 'trust-version'), '2\n');
  const agent = await n.start();
  const refused = await n.offer('dep-m');
  assert.deepEqual([refused.result, refused.code], ['rejected', 'E_TRUST_ROLLBACK']);
  assert.equal(agent.proc.exitCode, null);
  assert.equal(await readFile(join(n.node.stateDir, 'trust-version'), 'utf8'), '2\n', 'the mark never falls');
});
