import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bootedSlotDetector, parseCmdline } from '../../../../agent/platform/booted-slot.ts';
import { isOutpostError } from '../../../../shared/errors.ts';

const dir = await mkdtemp(join(tmpdir(), 'outpost-booted-'));
after(() => rm(dir, { recursive: true, force: true }));
const slots = [
  { name: 'A', path: join(dir, 'a.img') },
  { name: 'B', path: join(dir, 'b.img') },
];

test('kernel command line: outpost.slot= or rauc.slot=, only configured names', () => {
  const names = new Set(['A', 'B']);
  assert.equal(parseCmdline('BOOT_IMAGE=/vmlinuz root=/dev/sda2 ro rauc.slot=B quiet\n', names), 'B');
  assert.equal(parseCmdline('outpost.slot=A console=ttyS0', names), 'A');
  assert.equal(parseCmdline('rauc.slot=C', names), null);
  assert.equal(parseCmdline('root=/dev/sda2', names), null);
});

test('file source reads the slot name the boot simulator writes', async () => {
  const f = join(dir, 'booted');
  await writeFile(f, 'B\n');
  assert.equal(await bootedSlotDetector({ source: 'file', path: f, slots }).booted(), 'B');
  await writeFile(f, 'Z\n');
  assert.equal(await bootedSlotDetector({ source: 'file', path: f, slots }).booted(), null);
});

test('mounts source maps the device mounted at / to a slot, through symlinks', async () => {
  await writeFile(slots[1]!.path, '');
  await symlink(slots[1]!.path, join(dir, 'root-link'));
  const mounts = join(dir, 'mounts');
  await writeFile(mounts, `proc /proc proc rw 0 0\n${join(dir, 'root-link')} / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n`);
  assert.equal(await bootedSlotDetector({ source: 'mounts', path: mounts, slots }).booted(), 'B');
});

test('an unreadable source is E_BOOTED_SLOT', async () => {
  await assert.rejects(
    bootedSlotDetector({ source: 'cmdline', path: join(dir, 'missing'), slots }).booted(),
    (e) => isOutpostError(e, 'E_BOOTED_SLOT'),
  );
});
