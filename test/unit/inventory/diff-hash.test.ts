import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffInventory, applyDiff, isEmptyDiff, parsePointer } from '../../../agent/inventory/diff.ts';
import { hashInventory, factsOf } from '../../../agent/inventory/hash.ts';
import { canonicalJson } from '../../../agent/inventory/canonical-json.ts';
import type { JsonObject } from '../../../agent/inventory/types.ts';

const base: JsonObject = {
  v: 1,
  agent: { version: '0.1.0' },
  cpu: { brand: 'Cortex-A72', cores: 4 },
  network: { eth0: { mac: '02:00:00:00:00:01', addresses: ['10.0.0.5/24'], speedMbps: 1000 } },
  filesystems: { '/': { usedPercent: 40 }, '/data/a~b': { usedPercent: 3 } },
  custom: { 'site.sh': { cabinet: '7' } },
  errors: {},
  volatile: { uptimeS: 10 },
};

test('hash ignores key order and volatile values, and sees every fact', () => {
  const shuffled = JSON.parse(JSON.stringify({ volatile: { uptimeS: 999 }, errors: {}, ...base }));
  assert.equal(hashInventory(shuffled), hashInventory(base));
  assert.match(hashInventory(base), /^sha256:[0-9a-f]{64}$/);
  const changed = structuredClone(base);
  (changed.cpu as JsonObject).cores = 8;
  assert.notEqual(hashInventory(changed), hashInventory(base));
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

test('identical inventories give an empty diff, whatever volatile says', () => {
  const d = diffInventory(base, { ...structuredClone(base), volatile: { uptimeS: 11 } });
  assert.ok(isEmptyDiff(d));
});

test('a diff names exactly the changed leaves, arrays replaced whole, removals listed', () => {
  const next = structuredClone(base);
  (next.network as any).eth0.addresses = ['10.0.0.5/24', 'fe80::1/64'];
  (next.network as any).wlan0 = { mac: '02:00:00:00:00:02' };
  delete (next.custom as any)['site.sh'];
  (next.filesystems as any)['/data/a~b'].usedPercent = 4;
  (next as any).slots = { booted: 'B' };
  const d = diffInventory(base, next);
  assert.deepEqual(d, {
    removed: ['/custom/site.sh'],
    set: {
      '/filesystems/~1data~1a~0b/usedPercent': 4,
      '/network/eth0/addresses': ['10.0.0.5/24', 'fe80::1/64'],
      '/network/wlan0': { mac: '02:00:00:00:00:02' },
      '/slots': { booted: 'B' },
    },
  });
  assert.deepEqual(parsePointer('/filesystems/~1data~1a~0b/usedPercent'), ['filesystems', '/data/a~b', 'usedPercent']);
});

test('applying the diff to the old facts reproduces the new facts (and the new hash)', () => {
  const next = structuredClone(base);
  (next.cpu as any) = 'unknown'; // object → scalar
  (next.errors as any) = { cpu: { code: 'E_INVENTORY_TIMEOUT', message: 'cpu took longer than 10 ms' } };
  (next.network as any).eth0.speedMbps = null;
  delete (next as any).custom;
  const applied = applyDiff(factsOf(base), diffInventory(base, next));
  assert.deepEqual(applied, factsOf(next));
  assert.equal(hashInventory(applied), hashInventory(next));
  // And back again (scalar → object, re-added section).
  assert.deepEqual(applyDiff(factsOf(next), diffInventory(next, base)), factsOf(base));
});
