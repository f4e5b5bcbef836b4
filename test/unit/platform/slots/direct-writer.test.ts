// The O_DIRECT slot writer's logic on stand-in descriptors (a real loop device is in
// test/realdev/direct-write.test.ts): what goes direct and what through the page cache, short
// writes, a device that refuses O_DIRECT, a write that fails while the next buffer fills, and
// that the fsync comes after every write and before the descriptors close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { directWriter } from '../../../../agent/platform/slots/direct-writer.ts';
import { OutpostError, isOutpostError } from '../../../../shared/errors.ts';

const SIZE = 4 << 20;

interface Fake {
  direct: FileHandle;
  buffered: FileHandle;
  device: Buffer;
  /** What happened, in order: `direct 0+4096`, `buffered …`, `sync`, `close direct` … */
  log: string[];
  /** Writes started and not yet done. */
  running: () => number;
}

/** Two descriptors of one device; `direct` may refuse (EINVAL), fail (EIO at its nth write) or write short. */
function fake(o: { einval?: boolean; failAt?: number; short?: boolean } = {}): Fake {
  const device = Buffer.alloc(SIZE);
  const log: string[] = [];
  let running = 0;
  let directWrites = 0;
  const handle = (kind: 'direct' | 'buffered') => ({
    async write(buf: Buffer, off: number, len: number, pos: number) {
      running++;
      try {
        await tick(); // on the thread pool: the caller goes on meanwhile
        if (kind === 'direct') {
          directWrites++;
          if (o.einval) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
          if (directWrites === o.failAt) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
          if (pos % 4096 !== 0 || len % 4096 !== 0) throw Object.assign(new Error('EINVAL: unaligned'), { code: 'EINVAL' });
        }
        const n = o.short && kind === 'direct' && len > 8192 ? Math.floor(len / 8192) * 4096 : len; // a short write stops at a sector
        buf.copy(device, pos, off, off + n);
        log.push(`${kind} ${pos}+${n}`);
        return { bytesWritten: n, buffer: buf };
      } finally {
        running--;
      }
    },
    async sync() {
      log.push(`sync ${running}`);
    },
    async close() {
      log.push(`close ${kind} ${running}`);
    },
  }) as unknown as FileHandle;
  return { direct: handle('direct'), buffered: handle('buffered'), device, log, running: () => running };
}

const capacity = (end: number) => new OutpostError('E_SLOT_CAPACITY', `past the end: ${end}`);
const bytes = (log: string[], kind: string) => log.filter((l) => l.startsWith(kind)).reduce((a, l) => a + Number(l.split('+')[1]), 0);

async function writeBlocks(w: ReturnType<typeof directWriter>, image: Buffer, from = 0, block = 4096): Promise<void> {
  for (let off = from; off < image.length; off += block) {
    const b = Buffer.from(image.subarray(off, off + block));
    await w.write(off, b);
    b.fill(0xee); // reused by the caller once write returns
  }
}

test('aligned bytes go direct, the short end through the page cache; fsync after every write, then both closed', async () => {
  const f = fake();
  const image = randomBytes(3 * (512 << 10) + 4096 * 5 + 100);
  const w = directWriter(f.direct, f.buffered, 'dev', SIZE, capacity);
  await writeBlocks(w, image);
  await w.finish();
  assert.ok(f.device.subarray(0, image.length).equals(image));
  assert.equal(bytes(f.log, 'direct'), image.length - 100);
  assert.equal(bytes(f.log, 'buffered'), 100);
  assert.deepEqual(f.log.slice(-3).sort(), ['close buffered 0', 'close direct 0', 'sync 0']);
  assert.equal(f.log.at(-3), 'sync 0', 'fsync before the descriptors close, with no write running');
  await w.finish(); // once is enough: a second call answers as the first
});

test('short direct writes, an unaligned start and a gap all land where they belong', async () => {
  const f = fake({ short: true });
  const expect = Buffer.alloc(SIZE);
  const w = directWriter(f.direct, f.buffered, 'dev', SIZE, capacity);
  const put = async (off: number, data: Buffer) => {
    await w.write(off, data);
    data.copy(expect, off);
  };
  await put(0, randomBytes(1 << 20));
  await put((1 << 20) + 8192, randomBytes(700 << 10)); // after a gap
  await put((2 << 20) + 10, randomBytes(9000)); // unaligned: all through the page cache
  await w.finish();
  assert.ok(f.device.equals(expect));
  assert.ok(bytes(f.log, 'direct') >= (1 << 20) + (700 << 10) - 4096);
});

test('a device that refuses O_DIRECT gets everything through the page cache, once it said so', async () => {
  const f = fake({ einval: true });
  const image = randomBytes(2 << 20);
  const w = directWriter(f.direct, f.buffered, 'dev', SIZE, capacity);
  await writeBlocks(w, image, 0, 64 << 10);
  await w.finish();
  assert.ok(f.device.subarray(0, image.length).equals(image));
  assert.equal(bytes(f.log, 'direct'), 0);
  assert.equal(bytes(f.log, 'buffered'), image.length);
});

test('a direct write that fails while the next buffer fills fails a later write and the finish, for good; nothing is synced or written after it', async () => {
  const f = fake({ failAt: 2 });
  const w = directWriter(f.direct, f.buffered, 'dev', SIZE, capacity);
  const failed = await writeBlocks(w, randomBytes(3 << 20)).then(() => null, (e: unknown) => e);
  assert.ok(isOutpostError(failed, 'E_SLOT_WRITE'), String(failed));
  const writes = f.log.length;
  await assert.rejects(w.write(3 << 20, randomBytes(4096)), (e) => isOutpostError(e, 'E_SLOT_WRITE'));
  await assert.rejects(w.finish(), (e) => isOutpostError(e, 'E_SLOT_WRITE'));
  await assert.rejects(w.finish(), (e) => isOutpostError(e, 'E_SLOT_WRITE'), 'a second finish reported success');
  assert.equal(f.log.filter((l) => l.startsWith('sync')).length, 0);
  // at most the write already running when the failure came back ends after it; none starts
  const after = f.log.slice(writes);
  assert.ok(after.filter((l) => !l.startsWith('close')).length <= 1, after.join(', '));
  assert.deepEqual(after.slice(-2).sort(), ['close buffered 0', 'close direct 0']);
  await assert.rejects(w.write(SIZE - 4096, randomBytes(8192)), (e) => isOutpostError(e, 'E_SLOT_WRITE')); // closed
});

test('writes past the capacity are refused before anything is copied', async () => {
  const f = fake();
  const w = directWriter(f.direct, f.buffered, 'dev', SIZE, capacity);
  await assert.rejects(w.write(SIZE - 4096, randomBytes(8192)), (e) => isOutpostError(e, 'E_SLOT_CAPACITY'));
  await w.close();
  assert.deepEqual(f.log.sort(), ['close buffered 0', 'close direct 0']);
});
