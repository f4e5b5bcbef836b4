import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, truncate, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openSlotDevice } from '../../../../agent/platform/slots/slot-device.ts';
import { isOutpostError } from '../../../../shared/errors.ts';

const dir = await mkdtemp(join(tmpdir(), 'outpost-slot-'));
after(() => rm(dir, { recursive: true, force: true }));

async function slotFile(name: string, size: number): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, '');
  await truncate(p, size);
  return p;
}

test('a file slot writes at offsets, fsyncs on finish and reads back its digest', async () => {
  const path = await slotFile('a.img', 1 << 20);
  const slot = openSlotDevice({ name: 'A', slotClass: 'rootfs', path });
  assert.equal(await slot.size(), 1 << 20);
  const data = randomBytes(300_000);
  const w = await slot.openWriter();
  await w.write(0, data.subarray(0, 100_000));
  await w.write(100_000, data.subarray(100_000));
  await w.finish();
  assert.equal(await slot.digest(data.length), createHash('sha256').update(data).digest('hex'));
  // resume: a second writer at an offset rewrites only the tail
  const w2 = await slot.openWriter(200_000);
  await w2.write(200_000, Buffer.alloc(100_000, 7));
  await w2.finish();
  const expect = Buffer.concat([data.subarray(0, 200_000), Buffer.alloc(100_000, 7)]);
  assert.equal(await slot.digest(expect.length), createHash('sha256').update(expect).digest('hex'));
});

test('a writer flushing in the background as it goes (write-behind) finishes with every byte, and closes mid-flush', async () => {
  const size = 20 << 20; // more than two write-behind steps
  const path = await slotFile('wb.img', size);
  const slot = openSlotDevice({ name: 'A', slotClass: 'rootfs', path });
  const data = randomBytes(size);
  const w = await slot.openWriter();
  for (let at = 0; at < size; at += 1 << 20) await w.write(at, data.subarray(at, at + (1 << 20)));
  await w.finish();
  assert.equal(await slot.digest(size), createHash('sha256').update(data).digest('hex'));
  // stopped right after a background flush began: close waits for it, no error, nothing lost
  const w2 = await slot.openWriter();
  for (let at = 0; at < 9 << 20; at += 1 << 20) await w2.write(at, Buffer.alloc(1 << 20, 5));
  await w2.close();
  await assert.rejects(w2.write(0, Buffer.alloc(1)), (e: unknown) => isOutpostError(e) && e.code === 'E_SLOT_WRITE');
});

test('small blocks (4 KiB) are gathered into larger writes and all land, around gaps and large blocks', async () => {
  const size = 3 << 20;
  const path = await slotFile('gather.img', size);
  const slot = openSlotDevice({ name: 'A', slotClass: 'rootfs', path });
  const expect = Buffer.alloc(size);
  const w = await slot.openWriter();
  const put = async (at: number, data: Buffer) => {
    await w.write(at, data);
    data.copy(expect, at);
    data.fill(0xaa); // the caller reuses its buffer as soon as write() returns
  };
  for (let at = 0; at < (1 << 20) + 8192; at += 4096) await put(at, randomBytes(4096)); // past one gather buffer
  await put(2 << 20, randomBytes(4096)); // a gap: not contiguous with what is gathered
  await put((2 << 20) + 4096, randomBytes(1000)); // a short last block
  await put((2 << 20) + 8192, randomBytes(512 << 10)); // a large block goes as it is, after the gathered ones
  await w.finish();
  assert.equal(await slot.digest(size), createHash('sha256').update(expect).digest('hex'));
});

test('a write that fails (gathered, on the thread pool) fails the write or finish that issued it, and every write after it', { skip: process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs' }, async () => {
  // A sparse 4 MiB slot file on a 1 MiB tmpfs: writes fail (ENOSPC) once the space is gone. The
  // tmpfs lives in a mount namespace of its own, so no other test (an inventory of this machine's
  // filesystems) ever sees it.
  const mnt = join(dir, 'small');
  await mkdir(mnt);
  const child = join(import.meta.dirname, 'full-slot-child.ts');
  const { stdout } = await promisify(execFile)('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" "$3" "$1"', 'sh', mnt, process.execPath, child], { timeout: 60_000 });
  assert.deepEqual(JSON.parse(stdout), { first: 'E_SLOT_WRITE', after: 'E_SLOT_WRITE' });
});

test('writes past capacity are refused with E_SLOT_CAPACITY and nothing is appended', async () => {
  const path = await slotFile('b.img', 4096);
  const slot = openSlotDevice({ name: 'B', slotClass: 'rootfs', path });
  const w = await slot.openWriter();
  await assert.rejects(w.write(4000, Buffer.alloc(97)), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  await w.write(4000, Buffer.alloc(96)); // exactly to the end is fine
  await w.finish();
  await assert.rejects(slot.openWriter(4097), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  await assert.rejects(slot.digest(4097), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  assert.equal(await openSlotDevice({ name: 'B', slotClass: 'rootfs', path }).size(), 4096);
});

test('a missing slot or a directory is E_SLOT_OPEN, never created', async () => {
  const missing = openSlotDevice({ name: 'X', slotClass: 'rootfs', path: join(dir, 'nope.img') });
  await assert.rejects(missing.openWriter(), (e) => isOutpostError(e, 'E_SLOT_OPEN'));
  await mkdir(join(dir, 'd'));
  await assert.rejects(openSlotDevice({ name: 'D', slotClass: 'rootfs', path: join(dir, 'd') }).size(), (e) => isOutpostError(e, 'E_SLOT_OPEN'));
});

test('a closed writer refuses writes', async () => {
  const slot = openSlotDevice({ name: 'C', slotClass: 'rootfs', path: await slotFile('c.img', 8192) });
  const w = await slot.openWriter();
  await w.close();
  await assert.rejects(w.write(0, Buffer.alloc(1)), (e) => isOutpostError(e, 'E_SLOT_WRITE'));
});
