// `outpost inventory` and `outpost location` through the real CLI entry (agent/main.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { hashInventory } from '../../../agent/inventory/hash.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'outpost-inv-cli-'));
  await mkdir(join(root, 'etc/outpost/inventory.d'), { recursive: true });
  await writeFile(join(root, 'etc/outpost/inventory.d/site'), '#!/bin/sh\necho cabinet=7\n', { mode: 0o755 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cli(args: string[], config: object): Promise<{ code: number; out: string; err: string }> {
  const file = join(root, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ core: { root, stateDir: '/state' }, ...config }));
  return runCli([...args, '--config', file]);
}

test('outpost inventory --json prints the document with its hash', async () => {
  const r = await cli(['inventory', '--json', '--no-slots'], { inventory: { callTimeoutMs: 120_000 } });
  assert.equal(r.code, 0, r.err);
  const { hash, ...doc } = JSON.parse(r.out);
  assert.deepEqual(doc.custom, { site: { cabinet: '7' } });
  assert.equal(hash, hashInventory(doc));
  assert.equal(doc.clock.behindFloor, false);
  assert.ok(doc.os.kernel);
});

test('outpost inventory (human) lists dotted keys and the hash', async () => {
  const r = await cli(['inventory', '--no-slots'], { inventory: { scriptsDir: null, callTimeoutMs: 120_000 } });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^cpu\.cores = \d+$/m);
  assert.match(r.out, /^hash = sha256:[0-9a-f]{64}$/m);
  assert.doesNotMatch(r.out, /custom\./);
});

test('outpost location: survey only, no gpsd', async () => {
  const site = { siteId: 'ber-07', siteName: 'Berlin 7', latitude: 52.52, longitude: 13.405, accuracyM: 3, rack: 'R4', gpsd: false };
  const json = await cli(['location', '--json'], { location: site });
  assert.equal(json.code, 0, json.err);
  const r = JSON.parse(json.out);
  assert.deepEqual([r.source, r.latitude, r.accuracyM, r.zone, r.gnss], ['survey', 52.52, 3, 'inside', null]);
  const human = await cli(['location'], { location: site });
  assert.match(human.out, /^source {4}survey \(±3 m, age unknown\)$/m);
  assert.match(human.out, /^site {6}ber-07 "Berlin 7"; rack R4; radius 100 m$/m);
});

test('outpost location with nothing known exits 4; bad --wait is E_USAGE', async () => {
  const none = await cli(['location', '--wait', '0'], { location: { gpsd: false } });
  assert.equal(none.code, 4);
  assert.match(none.out, /^source {4}none/m);
  const bad = await cli(['location', '--wait', 'soon'], {});
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^E_USAGE: /);
});
