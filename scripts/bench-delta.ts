// Benchmark, run by hand (root for scenario 3's mkfs is not needed; mkfs.ext4 and zstd must be
// installed): delta updates against full installs in the same run, through the shipped CLI
// (`outpost install URL`) into file slots, from a loopback HTTP server (the reference hub's
// bundle handler) that counts every byte and request it serves.
//   1. v1 = 256 MiB of pseudo-random data (fixed seed); v2 = v1 with 2% of its 4 KiB blocks
//      rewritten at random places (fixed seed).
//   2. v2 = v1 with content shifted by an odd number of bytes in the middle.
//   3. an ext4 image made by mkfs.ext4 -d from a copy of part of /usr/lib, v2 with a few files
//      replaced; compressed full size vs `zstd -3` of the image, delta bytes vs changed files.
// The "full" install of each run is the same bundle on a node whose running slot holds
// unrelated data, so the agent itself chooses the full download.
// Usage: node scripts/bench-delta.ts [--runs 3] [--size-mib 256] [--scenarios 1,2,3] [--tree /usr/lib/gcc]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { TestNode } from '../test/support/test-node.ts';
import type { BundleKit, Image } from '../test/support/test-node.ts';
import { makeBundle, makeImage, makeKeys, makeTrustDir, TEST_COMPATIBLE } from '../test/support/bundle-fixtures.ts';
import { seededRandom } from '../test/support/seeded-random.ts';
import { startRangeServer } from '../test/support/range-server.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '256' },
    scenarios: { type: 'string', default: '1,2,3' },
    tree: { type: 'string', default: '/usr/lib/gcc' },
  },
});
const out = (s: string) => process.stdout.write(s + '\n');
const MiB = 1 << 20;
const BS = 4096;
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

async function sha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

async function imageOf(path: string): Promise<Image> {
  return { path, size: (await stat(path)).size, sha256: await sha(path) };
}

interface Scenario {
  name: string;
  v1: string;
  v2: string;
  /** Bytes that differ (or the changed files' size). */
  changed: number;
  changedWhat: string;
}

/** 2% of the 4 KiB blocks rewritten at random block offsets. */
async function scattered(dir: string, v1: string): Promise<Scenario> {
  const v2 = join(dir, 's1-v2.img');
  await copyFile(v1, v2);
  const size = (await stat(v1)).size;
  const blocks = Math.floor(size / BS);
  const rnd = seededRandom(12);
  const pick = new Set<number>();
  while (pick.size < Math.round(blocks * 0.02)) pick.add(Math.floor(rnd() * blocks));
  const fh = await open(v2, 'r+');
  const b = Buffer.alloc(BS);
  for (const i of pick) {
    for (let k = 0; k < BS; k += 4) b.writeUInt32LE((rnd() * 2 ** 32) >>> 0, k);
    await fh.write(b, 0, BS, i * BS);
  }
  await fh.close();
  return { name: '1: 2% of 4 KiB blocks rewritten', v1, v2, changed: pick.size * BS, changedWhat: 'changed blocks' };
}

/** 7 bytes inserted in the middle; the tail moves by 7 bytes (the image keeps its size). */
async function shifted(dir: string, v1: string): Promise<Scenario> {
  const data = await readFile(v1);
  const mid = Math.floor(data.length / 2) + 123;
  const v2 = join(dir, 's2-v2.img');
  await writeFile(v2, Buffer.concat([data.subarray(0, mid), Buffer.from('shifted'), data.subarray(mid, data.length - 7)]));
  return { name: '2: content shifted by 7 bytes mid-image', v1, v2, changed: 7, changedWhat: 'inserted bytes' };
}

async function treeBytes(dir: string): Promise<Array<{ path: string; size: number }>> {
  const outl: Array<{ path: string; size: number }> = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    outl.push({ path: p, size: (await stat(p)).size });
  }
  return outl;
}

/** ext4 images of a copy of a directory tree, then of the same tree with a few files replaced. */
async function ext4(dir: string): Promise<Scenario & { zstd3: number }> {
  const src = join(dir, 'tree');
  await mkdir(src);
  execFileSync('cp', ['-a', values.tree!, join(src, 'lib')]);
  const files = (await treeBytes(src)).filter((f) => f.size > 4096).sort((a, b) => (a.path < b.path ? -1 : 1));
  const used = Number(execFileSync('du', ['-sb', src], { encoding: 'utf8' }).split('\t')[0]);
  const imgMiB = Math.max(64, Math.ceil((used * 1.3) / MiB / 4) * 4);
  const mkfs = (tree: string, img: string) =>
    execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-U', 'ed0e4d0b-7c5d-4c8a-9d0c-2b7b3f1e0a11', '-E', 'hash_seed=3f1c2d2e-0a4b-4c5d-8e6f-7a8b9c0d1e2f,root_owner=0:0', '-T', 'default', '-O', '^metadata_csum_seed', '-d', tree, img, `${imgMiB}M`], {
      env: { ...process.env, E2FSPROGS_FAKE_TIME: '1764979200' },
    });
  const v1 = join(dir, 's3-v1.img');
  mkfs(src, v1);
  // "Upgrade a few packages": replace 12 files spread over the tree with new content of similar size.
  const rnd = seededRandom(33);
  let changed = 0;
  for (let k = 0; k < 12; k++) {
    const f = files[Math.floor(rnd() * files.length)]!;
    const size = Math.max(1, Math.round(f.size * (0.9 + rnd() * 0.2)));
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = 32 + Math.floor(rnd() * 64); // text-like, compressible
    await writeFile(f.path, content);
    changed += size;
  }
  const v2 = join(dir, 's3-v2.img');
  mkfs(src, v2);
  const zstd3 = Number(execFileSync('sh', ['-c', `zstd -3 -q -c ${v2} | wc -c`], { encoding: 'utf8' }).trim());
  return { name: `3: ext4 image (${imgMiB} MiB) of ${values.tree}, 12 files replaced`, v1, v2, changed, changedWhat: 'changed files', zstd3 };
}

interface Measured {
  bytes: number;
  requests: number;
  wallS: number;
}

async function install(kit: BundleKit, url: string, server: Awaited<ReturnType<typeof startRangeServer>>): Promise<Measured> {
  // The shipped checkpoint interval (4 MiB), not the test harness's 256 KiB: measure what a node does.
  const node = await TestNode.create({ kit, slotSize: Math.ceil(kit.new.size / MiB + 1) * MiB, checkpointBytes: 4 << 20 });
  try {
    server.reset();
    const t0 = performance.now();
    const r = await node.cli(['install', url]);
    const wallS = (performance.now() - t0) / 1000;
    if (r.code !== 0 || (await node.holds('B')) !== 'new') throw new Error(`install failed (${r.code}): ${r.stderr.slice(-2000)}`);
    return { bytes: server.bytes(), requests: server.requests().length, wallS };
  } finally {
    await node.dispose();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-delta-'));
  const server = await startRangeServer(join(dir, 'srv'));
  await mkdir(join(dir, 'srv'));
  try {
    const keys = await makeKeys(join(dir, 'keys'));
    const bundleConfig = async (nodeRoot: string, configRoot: string) => {
      await makeTrustDir(join(nodeRoot, 'etc/outpost/trust'), keys);
      const at = (p: string) => (configRoot === '/' ? join(nodeRoot, p) : p);
      return { trustStore: at('/etc/outpost/trust'), floorFile: at('/state/release-floor'), compatible: [TEST_COMPATIBLE] };
    };
    const base = join(dir, 'v1.img');
    const want = values.scenarios!.split(',');
    const scenarios: Array<Scenario & { zstd3?: number }> = [];
    if (want.includes('1') || want.includes('2')) await makeImage(base, Number(values['size-mib']) * MiB, 7);
    if (want.includes('1')) scenarios.push(await scattered(dir, base));
    if (want.includes('2')) scenarios.push(await shifted(dir, base));
    if (want.includes('3')) scenarios.push(await ext4(dir));
    for (const [k, s] of scenarios.entries()) {
      const name = `s${k}.bundle`;
      const made = await makeBundle({ image: s.v2, out: join(dir, 'srv', name), keys, version: '2.0.0', release: 2, format: 2 });
      const p = made.manifest.payloads[0]!;
      const bundleSize = (await stat(join(dir, 'srv', name))).size;
      const unrelated = join(dir, `unrelated-${k}.img`);
      await makeImage(unrelated, p.size, 99);
      const v1 = await imageOf(s.v1);
      const v2 = await imageOf(s.v2);
      const deltaKit: BundleKit = { bundle: join(dir, 'srv', name), old: v1, new: v2, bundleConfig };
      const fullKit: BundleKit = { ...deltaKit, old: await imageOf(unrelated) };
      const deltas: Measured[] = [];
      const fulls: Measured[] = [];
      for (let r = 0; r < runs; r++) {
        fulls.push(await install(fullKit, server.url(name), server));
        deltas.push(await install(deltaKit, server.url(name), server));
      }
      const d = { bytes: median(deltas.map((x) => x.bytes)), requests: median(deltas.map((x) => x.requests)), wallS: median(deltas.map((x) => x.wallS)) };
      const f = { bytes: median(fulls.map((x) => x.bytes)), requests: median(fulls.map((x) => x.requests)), wallS: median(fulls.map((x) => x.wallS)) };
      out(`\nscenario ${s.name} — image ${mb(p.size)}, bundle ${mb(bundleSize)} (stored ${mb(p.storedSize!)}), ${runs} runs, medians:`);
      out(`  ${s.changedWhat}: ${mb(s.changed)}`);
      out(`  delta: ${mb(d.bytes)} served in ${d.requests} requests, ${d.wallS.toFixed(2)} s  (range ${mb(Math.min(...deltas.map((x) => x.bytes)))}–${mb(Math.max(...deltas.map((x) => x.bytes)))})`);
      out(`  full:  ${mb(f.bytes)} served in ${f.requests} requests, ${f.wallS.toFixed(2)} s`);
      out(`  delta / ${s.changedWhat}: ${(d.bytes / s.changed).toFixed(2)}×   delta / full: ${(d.bytes / f.bytes).toFixed(3)}   wall delta / full: ${(d.wallS / f.wallS).toFixed(2)}`);
      const link = (n: number) => `${((n * 8) / 2e6 / 60).toFixed(1)} min`;
      out(`  transfer alone at 2 Mbit/s: delta ${link(d.bytes)}, full ${link(f.bytes)} (loopback wall time is CPU-bound: a delta hashes the running slot)`);
      if (s.zstd3 !== undefined) out(`  compressed full size ${mb(p.storedSize!)} vs zstd -3 of the image ${mb(s.zstd3)}: ${(p.storedSize! / s.zstd3).toFixed(2)}×; raw image ${mb(p.size)}`);
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
