// The one inventory diff and hash: on the flat wire form (dotted keys → scalars).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffInventory, applyDiff, isEmptyDiff } from '../../../agent/inventory/diff.ts';
import { hashInventory, hashFlat, wireInventory } from '../../../agent/inventory/hash.ts';
import { flattenInventory, TRUNCATED_KEY, WIRE_BYTES } from '../../../agent/inventory/flat.ts';
import { canonicalJson } from '../../../agent/inventory/canonical-json.ts';
import { LIMITS } from '../../../shared/protocol/limits.ts';
import type { JsonObject } from '../../../agent/inventory/types.ts';

const base: JsonObject = {
  v: 1,
  agent: { version: '0.1.0' },
  cpu: { brand: 'Cortex-A72', cores: 4 },
  network: { eth0: { mac: '02:00:00:00:00:01', addresses: ['10.0.0.5/24'], speedMbps: 1000 } },
  filesystems: { '/': { usedPercent: 40 } },
  custom: { site: { cabinet: '7' } },
  errors: {},
  volatile: { uptimeS: 10 },
};

test('the wire form: dotted keys, array indices, sorted, no volatile', () => {
  const w = wireInventory(base);
  assert.deepEqual(Object.keys(w), [...Object.keys(w)].sort());
  assert.equal(w['network.eth0.addresses.0'], '10.0.0.5/24');
  assert.equal(w['cpu.cores'], 4);
  assert.equal(w['filesystems./.usedPercent'], 40);
  assert.ok(!Object.keys(w).some((k) => k.startsWith('volatile')));
  assert.deepEqual(flattenInventory(w), w, 'flattening the wire form changes nothing');
});

test('hash ignores key order and volatile values, sees every fact, and is the same nested or flat', () => {
  const shuffled = JSON.parse(JSON.stringify({ volatile: { uptimeS: 999 }, errors: {}, ...base }));
  assert.equal(hashInventory(shuffled), hashInventory(base));
  assert.match(hashInventory(base), /^sha256:[0-9a-f]{64}$/);
  assert.equal(hashFlat(wireInventory(base)), hashInventory(base));
  const changed = structuredClone(base);
  (changed.cpu as JsonObject).cores = 8;
  assert.notEqual(hashInventory(changed), hashInventory(base));
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

test('identical inventories give an empty diff, whatever volatile says', () => {
  const d = diffInventory(wireInventory(base), wireInventory({ ...structuredClone(base), volatile: { uptimeS: 11 } }));
  assert.ok(isEmptyDiff(d));
});

test('a diff names exactly the changed keys; applying it gives the new inventory and hash', () => {
  const next = structuredClone(base) as any;
  next.network.eth0.addresses = ['10.0.0.5/24', 'fe80::1/64'];
  next.network.wlan0 = { mac: '02:00:00:00:00:02' };
  delete next.custom.site;
  next.cpu = 'unknown';
  const a = wireInventory(base);
  const b = wireInventory(next);
  const d = diffInventory(a, b);
  assert.deepEqual(d, {
    set: { cpu: 'unknown', 'network.eth0.addresses.1': 'fe80::1/64', 'network.wlan0.mac': '02:00:00:00:00:02' },
    unset: ['cpu.brand', 'cpu.cores', 'custom.site.cabinet'],
  });
  assert.deepEqual(applyDiff(a, d), b);
  assert.equal(hashFlat(applyDiff(a, d)), hashInventory(next));
  assert.deepEqual(applyDiff(b, diffInventory(b, a)), a, 'and back again');
});

test('an inventory over the protocol limits is cut deterministically and says so', () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 700; i++) many[`k${String(i).padStart(3, '0')}`] = 'x';
  const w = flattenInventory({ custom: { big: many } });
  assert.equal(Object.keys(w).length, LIMITS.inventoryKeys);
  assert.equal(w[TRUNCATED_KEY], 700 - (LIMITS.inventoryKeys - 1));
  // Same input in another order: the same keys are kept, so the hash does not flap.
  const reversed = Object.fromEntries(Object.entries(many).reverse());
  assert.equal(hashInventory({ custom: { big: reversed } }), hashFlat(w));
  assert.deepEqual(flattenInventory(w), w);
  const huge = flattenInventory({ custom: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, { v: 'y'.repeat(4000) }])) });
  assert.ok(Buffer.byteLength(JSON.stringify(huge)) <= WIRE_BYTES, 'fits a frame');
  assert.ok((huge[TRUNCATED_KEY] as number) > 0);
});
