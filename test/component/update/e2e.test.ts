// End to end through the real CLI: signed bundle → file slots → GRUB env → boot simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { updateNodes } from '../../support/update-nodes.ts';

const nodes = updateNodes({ imageSize: 2 << 20, blockSize: 64 << 10 }, { slotSize: 4 << 20 });

const node = (opts: { healthChecks?: string[][] } = {}) => nodes.node(opts);

test('a good update commits: new slot good and primary, old slot fallback, floor raised', async () => {
  const n = await node({ healthChecks: [['/bin/true']] });
  const install = await n.cli(['install', nodes.kit.bundle]);
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /reboot requested/);
  assert.match(install.stdout, /state: writing[\s\S]*state: verifying[\s\S]*state: arming[\s\S]*state: rebooting/);
  assert.equal(await n.booted(), 'B');
  const resume = await n.cli(['install', '--resume']);
  assert.equal(resume.code, 0, resume.stderr);
  assert.match(resume.stdout, /committed/);
  const env = await n.env().read();
  assert.equal(env.BOOT_ORDER, 'B A');
  assert.equal(env.OUTPOST_B_GOOD, '1');
  assert.equal(env.OUTPOST_A_GOOD, '1');
  assert.equal(await n.holds('B'), 'new');
  assert.equal((await readFile(join(n.stateDir, 'release-floor'), 'utf8')).trim(), '2');
  await n.assertBootable('after commit');
  // the node keeps booting the new slot
  assert.equal(await n.reboot(), 'B');
  const status = JSON.parse((await n.cli(['status', '--json'])).stdout);
  assert.equal(status.booted, 'B');
  assert.equal(status.primary, 'B');
  assert.equal(status.deployment.outcome, 'committed');
  assert.equal(status.slots.find((s: { name: string }) => s.name === 'B').installed.version, '2.0.0');
  const human = await n.cli(['status']);
  assert.match(human.stdout, /slot B \[rootfs\] 2\.0\.0 \(release 2\): booted, primary, good/);
});

test('a failing health check rolls back to the old slot and reports why', async () => {
  const n = await node({ healthChecks: [['/bin/true'], ['/bin/sh', '-c', 'echo app did not start >&2; exit 3']] });
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  const { journal, runs } = await n.settle();
  assert.equal(journal.state, 'rolled_back');
  assert.equal(journal.error?.code, 'E_HEALTH_CHECK');
  assert.match(runs.at(-1)!.stderr, /^E_HEALTH_CHECK: .*app did not start/m);
  assert.equal(runs.at(-1)!.code, 1);
  assert.equal(await n.booted(), 'A');
  const env = await n.env().read();
  assert.equal(env.BOOT_ORDER, 'A');
  assert.notEqual(env.OUTPOST_B_GOOD, '1');
  await assert.rejects(readFile(join(n.stateDir, 'release-floor'), 'utf8'), { code: 'ENOENT' });
  const outcome = JSON.parse(await readFile(join(n.stateDir, `update/deployments/${journal.id}.json`), 'utf8'));
  assert.equal(outcome.outcome, 'rolled_back');
  const log = await readFile(outcome.log, 'utf8');
  assert.match(log, /health check failed/);
  await n.assertBootable('after rollback');
});

test('a new slot that never comes up is rolled back by the bootloader running out of tries', async () => {
  const n = await node();
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal(await n.booted(), 'B'); // first trial boot: the agent "hangs" on B
  assert.equal(await n.reboot(), 'B');
  assert.equal(await n.reboot(), 'B');
  assert.equal(await n.reboot(), 'A'); // tries used up
  const { journal } = await n.settle();
  assert.equal(journal.state, 'rolled_back');
  assert.equal(journal.error?.code, 'E_BOOTLOADER_FALLBACK');
  assert.equal((await n.env().read()).BOOT_ORDER, 'A');
  await n.assertBootable('after fallback');
});

test('a corrupt journal is set aside, reported and the trial slot rolled back', async () => {
  const n = await node();
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal(await n.booted(), 'B');
  await writeFile(join(n.stateDir, 'update/journal.json'), '{"v":1,"state":"committ');
  const status = await n.cli(['status']);
  assert.match(status.stdout, /warning: journal corrupt/);
  const { journal } = await n.settle();
  assert.equal(journal.state, 'rolled_back');
  assert.equal(journal.error?.code, 'E_JOURNAL_CORRUPT');
  assert.ok((await readdir(join(n.stateDir, 'update'))).some((f) => f.startsWith('journal.json.corrupt-')));
  assert.equal(await n.booted(), 'A');
  await n.assertBootable('after corrupt journal');
});

test('a tampered bundle never reaches the bootloader; the old slot stays primary', async () => {
  const n = await node();
  const bad = join(n.dir, 'tampered.bundle');
  await copyFile(nodes.kit.bundle, bad);
  const fh = await open(bad, 'r+');
  const size = (await fh.stat()).size;
  await fh.write(Buffer.from([0x42]), 0, 1, size - 5000); // inside the payload
  await fh.close();
  const r = await n.cli(['install', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^E_BUNDLE_\w+: /m);
  const j = await n.journal();
  assert.equal(j?.state, 'failed');
  const env = await n.env().read();
  assert.equal(env.BOOT_ORDER, 'A');
  assert.equal(await n.reboot(), 'A');
  await n.assertBootable('after tampered bundle');
});

test('a bundle refused at its head never costs the node its fallback slot (unsigned offer regression)', async () => {
  const n = await node({ healthChecks: [['/bin/true']] });
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal((await n.settle()).journal.state, 'committed');
  const before = await n.env().read();
  assert.equal(before.BOOT_ORDER, 'B A');
  const bad = join(n.dir, 'forged-head.bundle');
  await copyFile(nodes.kit.bundle, bad);
  const fh = await open(bad, 'r+');
  await fh.write(Buffer.from('9'), 0, 1, 512 + 20); // inside manifest.json: its signature no longer matches
  await fh.close();
  const r = await n.cli(['install', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^E_BUNDLE_\w+: /m);
  assert.equal((await n.journal())?.state, 'failed');
  // The committed fallback A is untouched: still in the boot order and still good.
  assert.deepEqual(await n.env().read(), before);
  await n.assertBootable('after a forged head');
});

test('a second install while one is in flight is refused', async () => {
  const n = await node();
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  const again = await n.cli(['install', nodes.kit.bundle]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^E_UPDATE_BUSY: /m);
});

test('status still shows the slots when the trust store is broken, and says why bundles are refused', async () => {
  const n = await node();
  const config = JSON.parse(await readFile(n.configPath, 'utf8'));
  await writeFile(join(n.dir, 'broken-trust.json'), '{ not json');
  config.bundle.trustStore = join(n.dir, 'broken-trust.json');
  await writeFile(n.configPath, JSON.stringify(config));
  const human = await n.cli(['status']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /slot A \[rootfs\]/);
  assert.match(human.stdout, /warning: bundles are refused until fixed: E_TRUST_\w+/);
  const json = JSON.parse((await n.cli(['status', '--json'])).stdout);
  assert.match(json.policyProblem.code, /^E_TRUST_/);
  const install = await n.cli(['install', nodes.kit.bundle]);
  assert.equal(install.code, 1);
  assert.match(install.stderr, /^E_TRUST_\w+: /m);
});

test('a floor file broken during a trial boot neither blocks --resume nor rolls back a healthy update (corrupt-floor regression)', async () => {
  const n = await node({ healthChecks: [['/bin/true']] });
  assert.equal((await n.cli(['install', nodes.kit.bundle])).code, 0);
  assert.equal(await n.booted(), 'B');
  await writeFile(join(n.stateDir, 'release-floor'), 'not a number\n');
  const resume = await n.cli(['install', '--resume']);
  assert.equal(resume.code, 0, resume.stderr);
  assert.match(resume.stdout, /committed/);
  const env = await n.env().read();
  assert.deepEqual([env.BOOT_ORDER, env.OUTPOST_B_GOOD], ['B A', '1']);
  // The recovery commands work with the policy broken too.
  const back = await n.cli(['rollback']);
  assert.equal(back.code, 0, back.stderr);
  await n.assertBootable('after a broken floor');
});
