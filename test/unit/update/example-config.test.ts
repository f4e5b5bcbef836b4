import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../../agent/config/load.ts';
import { parseConfig } from '../../../agent/config/load.ts';
import { isOutpostError } from '../../../shared/errors.ts';

test('the example file-slot config is valid', async () => {
  const c = await loadConfig(join(import.meta.dirname, '../../../examples/config.file-slots.json'));
  assert.deepEqual(c.update.slots.map((s) => s.name), ['A', 'B']);
  assert.equal(c.update.bootEnv.kind, 'grub');
  assert.equal(c.update.bootedSlot.source, 'file');
});

test('update section errors are E_CONFIG with the key path', () => {
  const slot = (name: string, cls = 'rootfs') => ({ name, class: cls, path: `/${name}` });
  const bad: Array<[unknown, RegExp]> = [
    [{ slots: [slot('A')] }, /update\.slots: slot class rootfs needs at least two slots/],
    [{ slots: [slot('A'), slot('A')] }, /used twice/],
    [{ slots: [slot('A'), { ...slot('B'), kind: 'tape' }] }, /kind must be/],
    [{ slots: [slot('A'), { ...slot('B'), size: 1 }] }, /size: unknown key/],
    [{ bootEnv: { kind: 'uboot' } }, /update\.bootEnv: uboot needs "config"/],
    [{ bootedSlot: { source: 'file' } }, /needs "path"/],
    [{ healthChecks: [{ name: 'x', command: 'true', timeoutMs: 0 }] }, /timeoutMs/],
    [{ tries: 0 }, /update\.tries: must be >= 1/],
  ];
  for (const [update, re] of bad) {
    assert.throws(() => parseConfig({ update }), (e) => isOutpostError(e, 'E_CONFIG') && re.test(e.message), JSON.stringify(update));
  }
  const ok = parseConfig({ update: { slots: [slot('A'), slot('B')], bootedSlot: { source: 'mounts' } } });
  assert.equal(ok.update.bootedSlot.path, '/proc/mounts');
  assert.equal(ok.update.slots[0]!.kind, 'file');
});
