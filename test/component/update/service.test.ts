// The update service in-process (what the daemon and hub session call): cancel, shutdown and
// resume at the first missing block, a bundle that changed before a resume, operator commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { updateNodes } from '../../support/update-nodes.ts';
import { loadConfig } from '../../../agent/config/load.ts';
import { openUpdateApp } from '../../../agent/app/update-app.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import type { UpdateEvent } from '../../../agent/update/runner.ts';

const nodes = updateNodes({ imageSize: 2 << 20, blockSize: 64 << 10 }, { slotSize: 4 << 20, checkpointBytes: 128 << 10 });

async function setup(healthChecks: string[][] = []) {
  const node = await nodes.node({ healthChecks });
  const { service } = await openUpdateApp(await loadConfig(node.configPath));
  return { node, service };
}

test('cancel during the write abandons: E_CANCELLED, target bad, old slot primary', async () => {
  const { node, service } = await setup();
  const off = service.subscribe((e) => {
    if (e.type === 'progress' && e.done >= 512 << 10) service.cancel();
  });
  const r = await service.start(fileSource(nodes.kit.bundle));
  off();
  assert.deepEqual(r.kind === 'outcome' && [r.outcome, r.error?.code], ['failed', 'E_CANCELLED']);
  assert.equal((await node.env().read()).BOOT_ORDER, 'A');
  await node.assertBootable('after cancel');
  const s = await service.status();
  assert.equal(s.deployment?.state, 'failed');
  assert.equal(s.slots.find((x) => x.name === 'B')?.installed, null);
});

test('shutdown mid-write keeps the journal; resume continues at the first block not recorded', async () => {
  const { node, service } = await setup();
  let stopped = false;
  const off = service.subscribe((e) => {
    if (!stopped && e.type === 'progress' && e.done >= 1 << 20) (stopped = true), service.stop();
  });
  const r = await service.start(fileSource(nodes.kit.bundle));
  off();
  assert.equal(r.kind, 'stopped');
  const j = await node.journal();
  assert.equal(j?.state, 'writing');
  const recorded = j!.progress!.nextBlock;
  assert.ok(recorded >= 2 && recorded < j!.bundle!.payload.blocks, `recorded ${recorded}`);

  // A fresh service, as after a restart: the first progress event is the block after the record.
  const again = (await openUpdateApp(await loadConfig(node.configPath))).service;
  const events: UpdateEvent[] = [];
  again.subscribe((e) => events.push(e));
  const resumed = await again.resumeAfterBoot();
  assert.deepEqual(resumed && resumed.kind === 'parked' && resumed.state, 'awaiting_boot');
  const first = events.find((e) => e.type === 'progress');
  assert.equal(first?.type === 'progress' && first.done, (recorded + 1) * (64 << 10));
  assert.equal(await node.holds('B'), 'new');
  const done = await again.resumeAfterBoot();
  assert.deepEqual(done && done.kind === 'outcome' && done.outcome, 'committed');
});

test('a bundle that changed before the resume is written again from block 0', async () => {
  const { node, service } = await setup();
  let stopped = false;
  service.subscribe((e) => {
    if (!stopped && e.type === 'progress' && e.done >= 1 << 20) (stopped = true), service.stop();
  });
  assert.equal((await service.start(fileSource(nodes.kit.bundle))).kind, 'stopped');
  const later = new Date(Date.now() + 60_000);
  await utimes(nodes.kit.bundle, later, later); // same bytes, new validator: treated as changed
  const again = (await openUpdateApp(await loadConfig(node.configPath))).service;
  const firsts: number[] = [];
  again.subscribe((e) => e.type === 'progress' && firsts.length < 1 && firsts.push(e.done));
  const r = await again.resumeAfterBoot();
  assert.deepEqual(r && r.kind === 'parked' && r.state, 'awaiting_boot');
  assert.deepEqual(firsts, [64 << 10]);
  assert.ok(again.deploymentLog((await node.journal())!.id).some((l) => l.includes('bundle changed')));
});

test('operator commit skips health checks; operator rollback returns to the verified old slot', async () => {
  const { node, service } = await setup([['/bin/false']]);
  const r = await service.start(fileSource(nodes.kit.bundle));
  assert.equal(r.kind, 'parked');
  assert.equal(await node.booted(), 'B');
  const commit = await node.cli(['commit']);
  assert.equal(commit.code, 0, commit.stderr);
  assert.match(commit.stdout, /slot B committed/);
  assert.equal((await node.journal())?.state, 'committed');
  // The old slot holds a release below the floor the commit raised: the operator insists.
  const rollback = await node.cli(['rollback', '--force']);
  assert.equal(rollback.code, 0, rollback.stderr);
  assert.equal(await node.booted(), 'A'); // the reboot command ran the simulator
  assert.equal(await node.holds('A'), 'old');
  await node.assertBootable('after operator rollback');
});

test('after a commit the same service refuses a release below the raised floor', async () => {
  const { node, service } = await setup();
  assert.equal((await service.start(fileSource(nodes.kit.bundle))).kind, 'parked');
  const c = await service.resumeAfterBoot();
  assert.deepEqual(c && c.kind === 'outcome' && c.outcome, 'committed');
  const r = await service.start(fileSource(nodes.kit.older)); // release 1 < floor 2
  assert.equal(r.kind === 'outcome' && r.outcome, 'failed');
  assert.match(String(r.kind === 'outcome' && r.error?.code), /^E_BUNDLE_/);
  assert.equal(await node.booted(), 'B');
  await node.assertBootable('after a refused downgrade');
});

test('install on a terminal draws a progress bar; elsewhere it prints plain lines', async () => {
  const { run } = await import('../../../agent/cli/install.ts');
  const { PassThrough } = await import('node:stream');
  for (const isTTY of [true, false]) {
    const { node } = await setup();
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b));
    const code = await run([nodes.kit.bundle, '--config', node.configPath], { out, err, isTTY });
    assert.equal(code, 0);
    if (isTTY) assert.match(text, /\r\[#{30}\] 100% 2\.0\/2\.0 MiB[^\n]*\n/);
    else assert.match(text, /^written 50% 1\.\d\/2\.0 MiB(, .*)?$/m);
    assert.equal(text.includes('\r'), isTTY);
  }
});

test('a repeated start with the same deployment id does not start a second deployment', async () => {
  const { service } = await setup();
  const first = await service.start(fileSource(nodes.kit.bundle), { id: 'hub-42' });
  assert.deepEqual(first.kind === 'parked' && first.id, 'hub-42');
  const again = await service.start(fileSource(nodes.kit.bundle), { id: 'hub-42' });
  assert.deepEqual(again, { kind: 'in_progress', id: 'hub-42', state: 'awaiting_boot' });
  await assert.rejects(service.start(fileSource(nodes.kit.bundle), { id: 'hub-43' }), { code: 'E_UPDATE_BUSY' });
  await assert.rejects(service.start(fileSource(nodes.kit.bundle), { id: '../x' }), { code: 'E_UPDATE_ID' });
});

test('a shutdown asked for between two steps is not lost (abort-between-steps regression)', async () => {
  const { node, service } = await setup();
  // State events are emitted after the journal write and before the next handler starts:
  // exactly the gap in which no step's AbortController exists.
  const off = service.subscribe((e) => {
    if (e.type === 'state' && e.state === 'verifying') service.stop();
  });
  const r = await service.start(fileSource(nodes.kit.bundle));
  off();
  assert.deepEqual([r.kind, r.kind === 'stopped' && r.state], ['stopped', 'verifying']);
  assert.equal((await node.journal())?.state, 'verifying');
  await node.assertBootable('after a shutdown between steps');
});
