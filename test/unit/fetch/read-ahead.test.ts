// The delta's read-ahead: each item gets exactly the bytes at its place, reads of consecutive
// places merge into spans no larger than asked, no more reads are in flight than there are
// buffers, and a failed read fails only the items it carried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadAhead, type LocalReader, type PlannedRead } from '../../../agent/fetch/delta/read-ahead.ts';
import type { LocalRef } from '../../../agent/fetch/delta/local-index.ts';

const G = 16 * 1024;

/** Two files of random bytes read through real handles, counting reads and the most in flight at once. */
async function withReader(fn: (r: LocalReader & { reads: Array<{ ref: LocalRef; length: number }>; most: number }, files: Buffer[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'read-ahead-'));
  const files = [randomBytes(40 * G), randomBytes(8 * G + 100)];
  const handles: FileHandle[] = [];
  try {
    for (const [k, f] of files.entries()) {
      await writeFile(join(dir, `f${k}`), f);
      handles.push(await open(join(dir, `f${k}`), 'r'));
    }
    let inFlight = 0;
    const reader = {
      reads: [] as Array<{ ref: LocalRef; length: number }>,
      most: 0,
      async read(ref: LocalRef, length: number, into?: Buffer): Promise<Buffer> {
        reader.reads.push({ ref, length });
        reader.most = Math.max(reader.most, ++inFlight);
        try {
          const b = into ?? Buffer.allocUnsafe(length);
          if (ref.file > 1) throw new Error('no such file');
          const { bytesRead } = await handles[ref.file]!.read(b, 0, length, ref.offset);
          return b.subarray(0, bytesRead);
        } finally {
          inFlight--;
        }
      },
    };
    await fn(reader, files);
  } finally {
    for (const h of handles) await h.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const at = (file: number, group: number): PlannedRead => ({ ref: { file, offset: group * G }, length: G });
const buffers = (n: number, size: number) => Array.from({ length: n }, () => Buffer.alloc(size));

test('each item gets the bytes at its place; consecutive places are read as spans', async () => {
  await withReader(async (r, files) => {
    // 0-5 consecutive in file 0 (two spans of 4 and 2 at 4 groups a span), a gap, file 1, nothing, back to file 0
    const plan = [at(0, 0), at(0, 1), at(0, 2), at(0, 3), at(0, 4), at(0, 5), at(0, 9), at(1, 1), null, at(0, 10), at(0, 11)];
    const pool = buffers(2, 4 * G);
    const ra = new ReadAhead(r, plan, pool, 4 * G);
    for (let k = 0; k < plan.length; k++) {
      const p = plan[k];
      const got = ra.take(k);
      if (!p) assert.equal(got, null);
      else assert.deepEqual(await got, files[p.ref.file]!.subarray(p.ref.offset, p.ref.offset + p.length), `item ${k}`);
      ra.release(k);
    }
    await ra.close();
    assert.deepEqual(r.reads.map((x) => [x.ref.file, x.ref.offset / G, x.length / G]), [[0, 0, 4], [0, 4, 2], [0, 9, 1], [1, 1, 1], [0, 10, 2]]);
    assert.ok(r.most <= 2, `at most as many reads in flight as buffers: ${r.most}`);
    assert.equal(pool.length, 2, 'buffers given back');
  });
});

test('a read past the end of a file comes back short; the items after it in its span are empty', async () => {
  await withReader(async (r, files) => {
    const plan = [at(1, 7), at(1, 8), at(1, 9)]; // file 1 ends 100 bytes into group 8
    const ra = new ReadAhead(r, plan, buffers(1, 4 * G), 4 * G);
    assert.deepEqual(await ra.take(0), files[1]!.subarray(7 * G, 8 * G));
    assert.deepEqual(await ra.take(1), files[1]!.subarray(8 * G));
    assert.equal((await ra.take(2))!.length, 0);
    await ra.close();
  });
});

test('a failed read fails the items it carried, and only those', async () => {
  await withReader(async (r, files) => {
    const plan = [at(0, 0), at(2, 0), at(2, 1), at(0, 3)];
    const ra = new ReadAhead(r, plan, buffers(4, 2 * G), 2 * G);
    assert.deepEqual(await ra.take(0), files[0]!.subarray(0, G));
    await assert.rejects(ra.take(1)!, /no such file/);
    await assert.rejects(ra.take(2)!, /no such file/);
    assert.deepEqual(await ra.take(3), files[0]!.subarray(3 * G, 4 * G));
    await ra.close(); // settled: does not throw
  });
});

test('items not taken (a group handed on before a retry) leave no rejection behind; close waits for reads in flight', async () => {
  await withReader(async (r) => {
    const plan = [at(2, 0), at(0, 1)];
    const ra = new ReadAhead(r, plan, buffers(2, G), G);
    ra.take(0); // never awaited: its failure must not surface as an unhandled rejection
    await ra.close();
    assert.equal(r.reads.length, 2);
  });
});
