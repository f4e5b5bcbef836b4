// Bundle creation: deterministic output, and an image that changes between the two passes is
// refused without leaving a partial bundle behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle } from '../../../shared/bundle/create.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, makeBundle, makeImage, type TestKey } from '../../support/bundle-fixtures.ts';

let dir: string;
let keys: TestKey[];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-create-'));
  keys = await devKeys(['dev-a']);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('same inputs and creation time give byte-identical bundles', async () => {
  const image = await makeImage(join(dir, 'img'), 200_000, 4);
  const a = await makeBundle({ image, out: join(dir, 'a.bundle'), keys });
  const b = await makeBundle({ image, out: join(dir, 'b.bundle'), keys });
  assert.ok((await readFile(a.path)).equals(await readFile(b.path)));
});

test('an image that changes between the hashing pass and the writing pass is refused', async () => {
  const sub = join(dir, 'fifo-case');
  await mkdir(sub);
  const fifo = join(sub, 'image.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // a named pipe delivers different bytes on each open: what a file rewritten mid-create looks like
  const versions = [Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2)];
  // Writer side of the pipe. A writer blocked in open() keeps the process alive, so whatever
  // happens the finally block below releases it.
  let state: 'opening' | 'polling' | 'done' = 'opening';
  let stop = false;
  const feed = async (v: Buffer) => {
    state = 'opening';
    const fh = await open(fifo, 'w');
    await fh.writeFile(v);
    await fh.close();
    state = 'polling';
  };
  const writer = (async () => {
    await feed(versions[0]!);
    // the output's temp file appears only after the hashing pass finished reading the pipe
    while (!(await readdir(sub)).some((n) => n.endsWith('.tmp'))) {
      if (stop) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    await feed(versions[1]!);
    state = 'done';
  })();
  const out = join(sub, 'changed.bundle');
  try {
    await assert.rejects(
      createBundle({ payloads: [{ path: fifo, name: 'rootfs.img', slotClass: 'rootfs' }], version: '1', release: 1, compatible: ['b'], keys: [keys[0]!.key], out }),
      (e) => isOutpostError(e, 'E_BUNDLE_CREATE') && /changed/.test(e.message),
    );
  } finally {
    stop = true;
    if (state === 'opening') for await (const _ of createReadStream(fifo)) void _;
    await writer;
  }
  assert.deepEqual((await readdir(sub)).sort(), ['image.fifo']); // no bundle, no temp file
});

test('an empty or missing image is refused', async () => {
  const empty = join(dir, 'empty.img');
  await (await open(empty, 'w')).close();
  for (const path of [empty, join(dir, 'missing.img')]) {
    await assert.rejects(
      createBundle({ payloads: [{ path, name: 'rootfs.img', slotClass: 'rootfs' }], version: '1', release: 1, compatible: ['b'], keys: [keys[0]!.key], out: join(dir, 'x.bundle') }),
      (e) => isOutpostError(e, 'E_BUNDLE_CREATE'),
    );
  }
});
