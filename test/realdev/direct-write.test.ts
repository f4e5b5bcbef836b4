// A block-device slot is written past the page cache (O_DIRECT, direct-writer.ts): on a real
// loop device, every byte lands where it belongs whatever the writes' sizes, gaps, alignment and
// checkpoints (finish, then a writer reopened further on), read back from the device itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openSlotDevice } from '../../agent/platform/slots/slot-device.ts';
import { isOutpostError } from '../../shared/errors.ts';

const isRoot = process.getuid?.() === 0;
const SIZE = 24 << 20;
const { O_DIRECT } = constants;

let dir = '';
let loop = '';

before(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(join(tmpdir(), 'outpost-direct-'));
  const disk = join(dir, 'disk.img');
  await writeFile(disk, '');
  await truncate(disk, SIZE);
  loop = execFileSync('losetup', ['--find', '--show', disk], { encoding: 'utf8' }).trim();
});

after(async () => {
  if (loop) execFileSync('losetup', ['--detach', loop]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const slot = () => openSlotDevice({ name: 'B', slotClass: 'rootfs', path: loop });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Flags of this process's open descriptors of the loop device. */
function loopFdFlags(): number[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== loop) return [];
      return [parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8)];
    } catch {
      return []; // closed meanwhile
    }
  });
}

/** The device's bytes, its page cache dropped first: what is on the medium. */
function onDevice(length: number): Buffer {
  execFileSync('blockdev', ['--flushbufs', loop]);
  const out = execFileSync('dd', [`if=${loop}`, 'bs=1M', `count=${Math.ceil(length / (1 << 20))}`, 'iflag=direct', 'status=none'], { maxBuffer: SIZE * 2 });
  return out.subarray(0, length);
}

test('4 KiB blocks and checkpoints: written past the page cache, every byte on the device, a short end included', { skip: !isRoot && 'needs root for loop devices' }, async () => {
  execFileSync('dd', ['if=/dev/zero', `of=${loop}`, 'bs=1M', `count=${SIZE >> 20}`, 'status=none']);
  const image = randomBytes(9 * (1 << 20) + 1234); // a short last block
  const s = slot();
  let w = await s.openWriter(0);
  assert.ok(loopFdFlags().some((f) => (f & O_DIRECT) !== 0), 'the writer has no O_DIRECT descriptor of the device');
  for (let off = 0; off < image.length; off += 4096) {
    const block = Buffer.from(image.subarray(off, off + 4096));
    await w.write(off, block);
    block.fill(0xee); // the caller reuses its buffer once write returns
    if (off > 0 && off % (3 << 20) === 0) {
      await w.finish(); // a checkpoint: durable, then reopened at the next block
      w = await s.openWriter(off + 4096);
    }
  }
  await w.finish();
  assert.deepEqual(loopFdFlags(), [], 'descriptors left open');
  assert.equal(sha(onDevice(image.length)), sha(image));
  assert.equal(await s.digest(image.length), sha(image));
});

test('large, unaligned and scattered writes land where they belong; capacity and a closed writer are refused', { skip: !isRoot && 'needs root for loop devices' }, async () => {
  execFileSync('dd', ['if=/dev/zero', `of=${loop}`, 'bs=1M', `count=${SIZE >> 20}`, 'status=none']);
  const expect = Buffer.alloc(SIZE);
  const w = await slot().openWriter(0);
  const put = async (off: number, data: Buffer) => {
    await w.write(off, data);
    data.copy(expect, off);
  };
  await put(0, randomBytes(3 << 20)); // 1 MiB blocks and more in one call
  await put(5 << 20, randomBytes(700 << 10)); // a gap before it
  await put((6 << 20) + 100, randomBytes(5000)); // not aligned: through the page cache
  await put((6 << 20) + 5100, randomBytes(1 << 20)); // goes on from there, still unaligned
  await put(8 << 20, randomBytes(4096));
  await put(SIZE - 4096, randomBytes(4096)); // the last block of the device
  await assert.rejects(w.write(SIZE - 4096, randomBytes(8192)), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  await w.finish();
  await assert.rejects(w.write(0, randomBytes(4096)), (e) => isOutpostError(e, 'E_SLOT_WRITE'));
  assert.equal(sha(onDevice(SIZE)), sha(expect));
  const dropped = await slot().openWriter(0);
  await dropped.write(0, randomBytes(100 << 10));
  await dropped.close(); // no fsync, descriptors closed
  assert.deepEqual(loopFdFlags(), []);
});
