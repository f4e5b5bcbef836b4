// Regression (no lock between processes): while one `outpost` process drives a deployment (here
// `install --resume` in its health check, as the daemon would be), another process's rollback,
// commit or install must fail fast with E_UPDATE_BUSY naming the holder, and change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadConfig } from '../../../agent/config/load.ts';
import { openUpdateApp } from '../../../agent/app/update-app.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';

let kit: Awaited<ReturnType<typeof makeKit>>;
let node: TestNode;
const others: TestNode[] = [];
before(async () => {
  kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
});
after(async () => {
  await node?.dispose();
  for (const n of others) await n.dispose();
  await kit.dispose();
});

test('two update services on one node started together: only one streams into the slot (two-writers regression)', async () => {
  const n = await TestNode.create({ kit, slotSize: 2 << 20 });
  others.push(n);
  // Two services as two processes build them; both read "no journal" before either writes one.
  const config = await loadConfig(n.configPath);
  const [a, b] = await Promise.all([openUpdateApp(config), openUpdateApp(config)]);
  const writers = new Set<string>();
  a.service.subscribe((e) => e.type === 'progress' && writers.add('a'));
  b.service.subscribe((e) => e.type === 'progress' && writers.add('b'));
  const results = await Promise.allSettled([a.service.start(fileSource(kit.bundle)), b.service.start(fileSource(kit.bundle))]);
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1, JSON.stringify(results));
  assert.equal((refused[0] as PromiseRejectedResult).reason.code, 'E_UPDATE_BUSY');
  assert.equal(writers.size, 1, `slot B written by ${[...writers].join(' and ')}`);
  assert.equal((await n.journal())?.state, 'awaiting_boot');
  assert.equal(await n.holds('B'), 'new');
  await n.assertBootable('after two services raced');
});

test('two installs started at the same instant: one deployment, the other refused with E_UPDATE_BUSY', async () => {
  const n = await TestNode.create({ kit, slotSize: 2 << 20 });
  others.push(n);
  const runs = await Promise.all([n.cli(['install', kit.bundle]), n.cli(['install', kit.bundle])]);
  const ok = runs.filter((r) => r.code === 0);
  const busy = runs.filter((r) => r.code === 1 && /^E_UPDATE_BUSY: /m.test(r.stderr));
  assert.deepEqual([ok.length, busy.length], [1, 1], runs.map((r) => `${r.code} ${r.stdout} ${r.stderr}`).join('\n'));
  assert.match(ok[0]!.stdout, /reboot requested/);
  // Exactly one deployment ran: one outcome-less journal, one id, one write of B.
  const j = await n.journal();
  assert.equal(j?.state, 'awaiting_boot');
  assert.ok(ok[0]!.stdout.includes(`deployment ${j!.id}:`));
  assert.equal(await n.holds('B'), 'new');
  await n.assertBootable('after two racing installs');
});

test('a second process is refused with E_UPDATE_BUSY while one drives a deployment; status still answers', async () => {
  const gate = join(await import('node:os').then((os) => os.tmpdir()), `outpost-gate-${process.pid}-${Date.now()}`);
  // The health check waits until the test opens the gate: the resume holds the lock meanwhile.
  node = await TestNode.create({ kit, slotSize: 2 << 20, healthChecks: [['/bin/sh', '-c', `while [ ! -e '${gate}' ]; do sleep 0.05; done`]] });
  const install = await node.cli(['install', kit.bundle]);
  assert.equal(install.code, 0, install.stderr);
  const resume = node.cli(['install', '--resume']);
  try {
    for (let i = 0; i < 400 && (await node.journal())?.state !== 'health_checking'; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal((await node.journal())?.state, 'health_checking');
    const holder = (await readFile(join(node.stateDir, 'update/lock'), 'utf8')).split(' ')[0]!;
    const envBefore = await node.env().read();
    const [rollback, commit, second] = await Promise.all([node.cli(['rollback']), node.cli(['commit']), node.cli(['install', kit.bundle])]);
    for (const [name, r] of Object.entries({ rollback, commit, second })) {
      assert.equal(r.code, 1, `${name}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, /^E_UPDATE_BUSY: .*process (\d+) holds/m, name);
      assert.ok(r.stderr.includes(`process ${holder} `), `${name} names the holder ${holder}: ${r.stderr}`);
      assert.match(r.stderr, /use the hub, or stop the service/);
    }
    assert.deepEqual(await node.env().read(), envBefore, 'nothing touched the boot env');
    assert.equal((await node.journal())?.state, 'health_checking');
    const status = await node.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /deployment .*: health_checking/);
  } finally {
    await writeFile(gate, '');
  }
  const done = await resume;
  assert.equal(done.code, 0, done.stderr);
  assert.equal((await node.journal())?.state, 'committed');
  await node.assertBootable('after the refused second processes');
  // The lock is released: the operator can act now (the old slot is below the raised floor).
  const rollback = await node.cli(['rollback', '--force']);
  assert.equal(rollback.code, 0, rollback.stderr);
  await (await import('node:fs/promises')).rm(gate, { force: true });
});
