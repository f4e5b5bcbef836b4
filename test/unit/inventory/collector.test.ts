// The real targeted systeminformation calls on this machine, plus failing sources next to them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { InventoryCollector } from '../../../agent/inventory/collector.ts';
import { SYSTEM_PROBES, type Probe } from '../../../agent/inventory/system-probes.ts';
import { hashInventory } from '../../../agent/inventory/hash.ts';
import { processRunner } from '../../../agent/platform/exec.ts';
import { AGENT_VERSION } from '../../../agent/version.ts';
import { OutpostError } from '../../../shared/errors.ts';

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('collects every targeted section; failing and hanging sources land in errors', async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-inv-'));
  await writeFile(join(dir, 'asset'), '#!/bin/sh\necho asset_tag=OP-0042\n', { mode: 0o755 });
  const failing: Probe = { name: 'broken', run: async () => { throw new OutpostError('E_EXEC', 'no such bus'); } };
  const collector = new InventoryCollector({
    callTimeoutMs: 60_000, // real systeminformation calls: generous, a busy CI machine is slow
    scriptsDir: dir,
    scriptTimeoutMs: 60_000,
    runner: processRunner,
    slots: async () => ({ booted: 'A', slots: { A: { version: '1.2.0', good: true }, B: { version: '1.1.0', good: false } }, dropped: undefined }),
    clock: { now: () => Date.UTC(2027, 0, 1) },
    trustedTime: () => ({ now: Date.UTC(2027, 0, 1), systemNow: 5000, floorMs: Date.UTC(2027, 0, 1), source: 'hub', clockBehind: true, behindMs: Date.UTC(2027, 0, 1) - 5000, synchronised: false, usingFloor: true, signedMs: Date.UTC(2026, 10, 1) }),
    probes: [...SYSTEM_PROBES, failing],
  });
  const inv = await collector.collect();

  assert.equal(inv.v, 1);
  assert.deepEqual(inv.agent, { version: AGENT_VERSION });
  for (const section of ['system', 'bios', 'baseboard', 'cpu', 'memory', 'os', 'disks', 'blockDevices', 'filesystems', 'network']) {
    assert.ok(section in inv, `missing ${section}`);
  }
  const cpu = inv.cpu as { cores: number };
  assert.ok(cpu.cores >= 1);
  assert.equal((inv.os as { platform: string }).platform, 'linux');
  assert.ok((inv.memory as { totalBytes: number }).totalBytes > 0);
  assert.ok('/' in (inv.filesystems as object), 'root filesystem reported by mount point');
  // Every non-loopback kernel interface is reported with all its addresses.
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs!.every((a) => a.internal)) continue;
    const reported = (inv.network as Record<string, { addresses: string[] }>)[name];
    assert.ok(reported, `interface ${name}`);
    assert.deepEqual(reported.addresses, addrs!.map((a) => a.cidr).sort());
  }
  assert.deepEqual(inv.slots, { booted: 'A', slots: { A: { version: '1.2.0', good: true }, B: { version: '1.1.0', good: false } } });
  assert.deepEqual(inv.custom, { asset: { asset_tag: 'OP-0042' } });

  assert.deepEqual(inv.errors, {
    broken: { code: 'E_EXEC', message: 'no such bus' },
  });
  assert.equal(inv.volatile.collectedAt, '2027-01-01T00:00:00.000Z');
  assert.deepEqual(inv.clock, { behindFloor: true, usingFloor: true }, 'a clock behind the trusted floor is reported');
  assert.deepEqual(inv.volatile.clock, { behindMs: Date.UTC(2027, 0, 1) - 5000, floor: '2027-01-01T00:00:00.000Z', floorSource: 'hub' });
  assert.equal(typeof inv.volatile.uptimeS, 'number');
  assert.ok(inv.volatile.temperatureC !== undefined, 'temperature reported (null where the board has no sensor)');
  // Plain JSON: survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(inv)), inv);

  // Two collections of an unchanged machine hash the same (volatile excluded). Suites running
  // beside this one mount filesystems and attach loop devices, so a pair that differs is taken
  // again: a fact that changes at every collection never hashes the same twice in a row.
  let hashes = [hashInventory(inv), hashInventory(await collector.collect())];
  for (let tries = 1; hashes[0] !== hashes[1] && tries < 5; tries++) hashes = [hashes[1]!, hashInventory(await collector.collect())];
  assert.equal(hashes[1], hashes[0], 'five pairs of collections in a row hashed differently');
});

test('a slot provider that fails is reported, the rest is still collected', async () => {
  const collector = new InventoryCollector({
    callTimeoutMs: 5_000,
    scriptsDir: null,
    scriptTimeoutMs: 1_000,
    runner: processRunner,
    slots: async () => {
      throw new Error('boot env unreadable');
    },
    probes: SYSTEM_PROBES.filter((p) => p.name === 'memory'),
  });
  const inv = await collector.collect();
  assert.deepEqual(inv.errors, { slots: { code: 'E_INVENTORY_SOURCE', message: 'boot env unreadable' } });
  assert.ok(inv.memory);
  assert.equal(inv.custom, undefined);
});

test('a call that never answers is cut off at its timeout and reported', async () => {
  const hanging: Probe = { name: 'hangs', run: () => new Promise(() => {}) };
  const collector = new InventoryCollector({
    callTimeoutMs: 200,
    scriptsDir: null,
    scriptTimeoutMs: 1_000,
    runner: processRunner,
    probes: [hanging, ...SYSTEM_PROBES.filter((p) => p.name === 'uptime')],
  });
  const inv = await collector.collect();
  assert.deepEqual(inv.errors, { hangs: { code: 'E_INVENTORY_TIMEOUT', message: 'hangs took longer than 200 ms' } });
  assert.equal(typeof inv.volatile.uptimeS, 'number');
});

test('boot-static facts are collected once per process; failures are retried', async () => {
  const calls = { board: 0, flaky: 0, mem: 0 };
  const probes: Probe[] = [
    { name: 'board', bootStatic: true, run: async () => (calls.board++, { facts: { board: { serial: 'X1' } } }) },
    {
      name: 'flaky', bootStatic: true,
      run: async () => {
        if (calls.flaky++ === 0) throw new OutpostError('E_INVENTORY_TIMEOUT', 'busy');
        return { facts: { flaky: { ok: true } } };
      },
    },
    { name: 'mem', run: async () => (calls.mem++, { facts: { mem: { n: calls.mem } } }) },
  ];
  const collector = new InventoryCollector({ callTimeoutMs: 1000, scriptsDir: null, scriptTimeoutMs: 1000, runner: processRunner, probes });
  const first = await collector.collect();
  const second = await collector.collect();
  const third = await collector.collect();
  assert.deepEqual(calls, { board: 1, flaky: 2, mem: 3 });
  assert.deepEqual(first.errors, { flaky: { code: 'E_INVENTORY_TIMEOUT', message: 'busy' } });
  assert.deepEqual([second.board, second.flaky, third.flaky, third.mem], [{ serial: 'X1' }, { ok: true }, { ok: true }, { n: 3 }]);
});
