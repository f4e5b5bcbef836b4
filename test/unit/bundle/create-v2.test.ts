// Format-2 creation: blocks of a regular file go straight to their final offset, an input of
// unknown size through a spool; both give the same bytes, deterministically, and read back to the
// images — including when the final manifest is one tar block shorter than the planned one and
// the payloads have to move, and whether worker threads compress some of the blocks or none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import type { BlockSink } from '../../../agent/bundle/types.ts';
import { createBundle, type PayloadInput } from '../../../shared/bundle/create.ts';
import type { Threads } from '../../../shared/bundle/create-v2.ts';
import { BlockEncoder, encodeBlock } from '../../../shared/bundle/block-codec.ts';
import { DIGEST_BYTES, paddedSize } from '../../../shared/bundle/format.ts';
import { encodeManifest } from '../../../shared/bundle/manifest.ts';
import type { Manifest, PayloadEntry } from '../../../shared/bundle/types.ts';
import type { TrustStore } from '../../../shared/bundle/trust.ts';
import { devKeys, eachBlock, makeTrustDir, testPolicy, TEST_COMPATIBLE, type TestKey } from '../../support/bundle-fixtures.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const CREATED = new Date('2026-11-21T12:00:00Z');

function seededBytes(seed: number, n: number): Buffer {
  const r = seededRandom(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}
let dir: string;
let keys: TestKey[];
let trust: TrustStore;
let images: Buffer[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-create-v2-'));
  keys = await devKeys(['dev-a']);
  trust = (await makeTrustDir(join(dir, 'trust'), keys)).store;
  // compressible text and zeros, then incompressible bytes and a short last block: stored sizes
  // far below their planned upper bound, so the manifest shrinks by some digits
  images = [
    Buffer.concat([Buffer.from('outpost '.repeat(30_000)), Buffer.alloc(50_000), seededBytes(7, 20_123)]),
    Buffer.concat([seededBytes(8, 9_000), Buffer.alloc(70_001)]),
  ];
  for (const [i, b] of images.entries()) await writeFile(join(dir, `img${i}`), b);
});

after(() => rm(dir, { recursive: true, force: true }));

function payloads(paths: readonly string[]): PayloadInput[] {
  return paths.map((path, i) => ({ path, name: `p${i}.img`, slotClass: i === 0 ? 'rootfs' : 'boot', blockSize: 4096, groupBlocks: 4 }));
}

interface Opts {
  version?: string;
  compatible?: string[];
  threads?: Threads;
  signal?: AbortSignal;
}

async function create(paths: readonly string[], out: string, o: Opts = {}) {
  return createBundle({
    payloads: payloads(paths), format: 2, version: o.version ?? '1.0.0', release: 1, compatible: o.compatible ?? [TEST_COMPATIBLE],
    keys: keys.map((k) => k.key), out, created: CREATED, threads: o.threads ?? { workers: 0, fromBytes: 0 }, signal: o.signal,
  });
}

/** Reads a bundle through the verifier; the payloads' bytes as they would land in the slots. */
async function readBack(bytes: Buffer): Promise<Buffer[]> {
  const blocks = new Map<string, Buffer[]>();
  const sink: BlockSink = {
    async begin() {},
    async block(p: PayloadEntry, i: number, data: Buffer) {
      const list = blocks.get(p.name) ?? [];
      eachBlock(p, i, data, (k, b) => (list[k] = Buffer.from(b)));
      blocks.set(p.name, list);
    },
    async end() {},
  };
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += 5000) yield bytes.subarray(i, i + 5000);
  }
  await createVerifier(testPolicy(trust)).readBundle(chunks(), sink);
  return [...blocks.values()].map((l) => Buffer.concat(l));
}

/** Creates from named pipes: the size is unknown up front, so the spool path runs. */
async function createFromPipes(out: string, o: Opts = {}, from: readonly Buffer[] = images) {
  const fifos = from.map((_, i) => join(dir, `pipe-${out.length}-${i}`));
  for (const f of fifos) assert.equal(spawnSync('mkfifo', [f]).status, 0);
  const opened = new Set<number>();
  const writers = fifos.map(async (f, i) => {
    const fh = await open(f, 'w');
    opened.add(i);
    await fh.writeFile(from[i]!);
    await fh.close();
  });
  try {
    return await create(fifos, out, o);
  } finally {
    // a writer still blocked in open() would keep the process alive
    for (const [i, f] of fifos.entries()) if (!opened.has(i)) for await (const _ of createReadStream(f)) void _;
    await Promise.allSettled(writers);
  }
}

test('same inputs and creation time: byte-identical bundles, from files (direct) and from pipes (spooled)', async () => {
  const files = images.map((_, i) => join(dir, `img${i}`));
  await create(files, join(dir, 'a.bundle'));
  await create(files, join(dir, 'b.bundle'));
  await createFromPipes(join(dir, 'c.bundle'));
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => readFile(join(dir, `${n}.bundle`))));
  assert.ok(a!.equals(b!), 'two runs differ');
  assert.ok(a!.equals(c!), 'the spooled bundle differs from the direct one');
  const back = await readBack(a!);
  assert.equal(back.length, 2);
  for (const [i, img] of images.entries()) assert.ok(back[i]!.equals(img), `payload ${i} does not read back to its image`);
});

test('a final manifest one tar block shorter than planned: payloads move down, bytes as from the spool path', async () => {
  const files = images.map((_, i) => join(dir, `img${i}`));
  const first = await create(files, join(dir, 'probe.bundle'));
  // Find a version and compatible list that put the final manifest's length exactly on a 512-byte
  // boundary; the plan (storedSize at its upper bound, more digits) then needs one block more.
  const planned = (m: Manifest): Manifest => ({
    ...m,
    payloads: m.payloads.map((p) => ({ ...p, sha256: '0'.repeat(64), indexSha256: '0'.repeat(64), storedSize: p.size + p.blocks * DIGEST_BYTES })),
  });
  let pick: { version: string; compatible: string[] } | null = null;
  for (let v = 1; v <= 120 && !pick; v++) {
    for (let c = 0; c <= 120 && !pick; c++) {
      const o = { version: 'v'.repeat(v), compatible: c === 0 ? [TEST_COMPATIBLE] : [TEST_COMPATIBLE, 'c'.repeat(c)] };
      const m = { ...first.manifest, ...o };
      const len = encodeManifest(m).length;
      if (len % 512 === 0 && paddedSize(encodeManifest(planned(m)).length) > len) pick = o;
    }
  }
  assert.ok(pick, 'no version/compatible gives a manifest on a 512-byte boundary');
  const made = await create(files, join(dir, 'moved.bundle'), pick);
  await createFromPipes(join(dir, 'moved-spooled.bundle'), pick);
  const [moved, spooled] = await Promise.all([readFile(join(dir, 'moved.bundle')), readFile(join(dir, 'moved-spooled.bundle'))]);
  assert.equal(moved.length, made.layout.totalSize);
  assert.ok(moved.equals(spooled), 'the moved bundle differs from the spooled one');
  const back = await readBack(moved);
  for (const [i, img] of images.entries()) assert.ok(back[i]!.equals(img), `payload ${i} does not read back to its image`);
});

/** Images of several reads (1 MiB each) and compression jobs, ending in a short block. */
function largerImages(): Buffer[] {
  return [
    Buffer.concat([Buffer.from('outpost block '.repeat(120_000)), seededBytes(9, 700_000), Buffer.alloc(900_000), seededBytes(10, 3_001)]),
    Buffer.concat([seededBytes(11, 1_048_576), Buffer.from('tail '.repeat(100_000))]),
  ];
}

test('worker threads compressing some blocks: the same bytes as one thread, from files and from pipes', async () => {
  const big = largerImages();
  const files = big.map((_, i) => join(dir, `big${i}`));
  for (const [i, b] of big.entries()) await writeFile(files[i]!, b);
  await create(files, join(dir, 'one-thread.bundle'), { threads: { workers: 0, fromBytes: 0 } });
  await create(files, join(dir, 'workers.bundle'), { threads: { workers: 2, fromBytes: 0 } });
  // from a pipe the workers start once this much was read, mid-image
  await createFromPipes(join(dir, 'workers-pipe.bundle'), { threads: { workers: 1, fromBytes: 1 << 20 } }, big);
  const [one, workers, pipe] = await Promise.all(['one-thread', 'workers', 'workers-pipe'].map((n) => readFile(join(dir, `${n}.bundle`))));
  assert.ok(one!.equals(workers!), 'the bundle made with workers differs from the one-thread bundle');
  assert.ok(one!.equals(pipe!), 'the bundle made from pipes with workers differs from the one-thread bundle');
  const back = await readBack(one!);
  for (const [i, img] of big.entries()) assert.ok(back[i]!.equals(img), `payload ${i} does not read back to its image`);
});

test('a failure while workers run ends them: the error comes back, no temporary file stays behind', async () => {
  const sub = join(dir, 'aborted');
  await mkdir(sub);
  const big = largerImages();
  const files = big.map((_, i) => join(sub, `big${i}`));
  for (const [i, b] of big.entries()) await writeFile(files[i]!, b);
  // the signal is checked before every step of the loop that the workers are already part of
  const ac = new AbortController();
  ac.abort(new Error('stop here'));
  await assert.rejects(create(files, join(sub, 'out.bundle'), { threads: { workers: 1, fromBytes: 0 }, signal: ac.signal }), /stop here/);
  // an input that cannot be read: a directory passes stat() as a size-less input, then fails
  await assert.rejects(create([sub], join(sub, 'dir.bundle'), { threads: { workers: 1, fromBytes: 0 } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'E_BUNDLE_CREATE');
    return true;
  });
  assert.deepEqual((await readdir(sub)).sort(), ['big0', 'big1']);
});

test('a BlockEncoder (one zstd context for many blocks) stores every block as encodeBlock() does', () => {
  const blocks = [
    Buffer.from('outpost '.repeat(512)), Buffer.alloc(4096), seededBytes(12, 4096), seededBytes(13, 1),
    Buffer.concat([Buffer.from('text '.repeat(3000)), seededBytes(14, 50_000)]).subarray(0, 65_536), Buffer.from('ab'.repeat(1500)), Buffer.alloc(17, 7),
  ];
  for (const level of [1, 3, 19]) {
    const encoder = new BlockEncoder(level);
    // on the pinned Node the context is reused; a fallback would be correct but cost 40 % more CPU
    assert.ok(encoder.reusesContext, 'BlockEncoder fell back to one zstd context per block');
    try {
      // twice through: a context reused after large and raw-kept blocks still starts clean frames
      for (const raw of [...blocks, ...blocks]) assert.ok(encoder.encode(raw).equals(encodeBlock(raw, level)), `level ${level}, ${raw.length} bytes`);
    } finally {
      encoder.close();
    }
  }
});
