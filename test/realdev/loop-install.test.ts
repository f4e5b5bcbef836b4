// Real block devices: a GPT disk image with two root partitions on a loop device (partx -a,
// since losetup -P does not see GPT on this kernel). The CLI installs into the inactive
// partition; the digest is read back from the device. Loop devices are always detached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile, stat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { TestNode } from '../support/test-node.ts';
import { makeKit } from '../support/bundle-kit.ts';
import { openSlotDevice } from '../../agent/platform/slots/slot-device.ts';
import { isOutpostError } from '../../shared/errors.ts';

const isRoot = process.getuid?.() === 0;
const ROOT_X86_64 = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709'; // GPT type: Linux root (x86-64)
const PART = 8 << 20;

let dir = '';
let loop = '';
let kit: Awaited<ReturnType<typeof makeKit>> | undefined;

before(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(join(tmpdir(), 'outpost-realdev-'));
  const disk = join(dir, 'disk.img');
  await writeFile(disk, '');
  await truncate(disk, 3 * PART);
  const layout = `label: gpt\nsize=${PART / 1024}KiB, type=${ROOT_X86_64}, name=rootfs-a\nsize=${PART / 1024}KiB, type=${ROOT_X86_64}, name=rootfs-b\n`;
  execFileSync('sfdisk', ['--quiet', disk], { input: layout });
  loop = execFileSync('losetup', ['--find', '--show', disk], { encoding: 'utf8' }).trim();
  execFileSync('partx', ['--add', loop]);
  kit = await makeKit({ imageSize: 6 << 20, blockSize: 64 << 10 });
});

after(async () => {
  if (loop) {
    try {
      execFileSync('partx', ['--delete', loop]);
    } finally {
      execFileSync('losetup', ['--detach', loop]);
    }
  }
  await kit?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a partition is a slot: size from sysfs, capacity enforced', { skip: !isRoot && 'needs root for loop devices' }, async () => {
  const p1 = `${loop}p1`;
  assert.ok((await stat(p1)).isBlockDevice());
  const slot = openSlotDevice({ name: 'A', slotClass: 'rootfs', path: p1 });
  assert.equal(await slot.size(), PART);
  const w = await slot.openWriter();
  await assert.rejects(w.write(PART - 10, Buffer.alloc(11)), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  await w.close();
});

test('install into the inactive partition of a GPT loop disk, verified by read-back', { skip: !isRoot && 'needs root for loop devices' }, async () => {
  const node = await TestNode.create({ kit: kit!, slotSize: PART, slotPaths: { A: `${loop}p1`, B: `${loop}p2` } });
  try {
    assert.equal(await node.booted(), 'A');
    const install = await node.cli(['install', kit!.bundle]);
    assert.equal(install.code, 0, install.stderr);
    const resume = await node.cli(['install', '--resume']);
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal(await node.booted(), 'B');
    // Read back straight from the partition, independently of the agent's digest code.
    const fh = await open(`${loop}p2`, 'r');
    const data = Buffer.alloc(kit!.new.size);
    await fh.read(data, 0, data.length, 0);
    await fh.close();
    assert.equal(createHash('sha256').update(data).digest('hex'), kit!.new.sha256);
    assert.equal(await node.holds('A'), 'old'); // the running slot was never touched
    await node.assertBootable('after install on loop partitions');
  } finally {
    await node.dispose();
  }
});
