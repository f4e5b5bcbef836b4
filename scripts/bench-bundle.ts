// Benchmark (run by hand): create and verify a bundle of a random image, and compare verify
// throughput with `sha256sum` (and one node:crypto sha256 pass) over the same image, same run.
// Create and verify each run in a child process, so peak RSS is theirs alone.
//   node scripts/bench-bundle.ts [--size-mib 256] [--runs 5] [--block-size 1048576]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBundle } from '../shared/bundle/create.ts';
import { readSigningKey } from '../agent/bundle/key-files.ts';
import { readBundle } from '../agent/bundle/reader.ts';
import { loadTrustStore } from '../agent/bundle/trust-file.ts';
import type { BlockSink } from '../agent/bundle/types.ts';
import { makeImage, makeKeys, makeTrustDir } from '../test/support/bundle-fixtures.ts';

const MIB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    runs: { type: 'string', default: '5' },
    'block-size': { type: 'string', default: String(MIB) },
    child: { type: 'string' }, // internal: create | verify | baseline
    image: { type: 'string' },
    bundle: { type: 'string' },
    key: { type: 'string' },
    trust: { type: 'string' },
  },
});
const out = (s: string) => process.stdout.write(s + '\n');

async function child(): Promise<void> {
  const t = performance.now();
  if (values.child === 'create') {
    const key = await readSigningKey(values.key!);
    await createBundle({
      payloads: [{ path: values.image!, name: 'rootfs.img', slotClass: 'rootfs', blockSize: Number(values['block-size']) }],
      version: '1', release: 1, compatible: ['bench-board'], keys: [key], out: values.bundle!,
    });
  } else if (values.child === 'baseline') {
    await loadTrustStore(values.trust!); // same modules loaded, no bundle read
  } else {
    const trust = await loadTrustStore(values.trust!);
    const sink: BlockSink = { async begin() {}, async block() {}, async end() {} };
    await readBundle(createReadStream(values.bundle!, { highWaterMark: MIB }), { trust, releaseFloor: 0, compatible: ['bench-board'] }, sink);
  }
  out(JSON.stringify({ ms: performance.now() - t, maxRssKiB: process.resourceUsage().maxRSS }));
}

function runChild(args: string[]): { ms: number; maxRssKiB: number } {
  const r = spawnSync(process.execPath, [import.meta.filename, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const size = Number(values['size-mib']) * MIB;
  const runs = Number(values.runs);
  const bs = values['block-size']!;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mbps = (ms: number) => size / MIB / (ms / 1000);
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-'));
  try {
    const image = await makeImage(join(dir, 'image.bin'), size, 42);
    const [key] = await makeKeys(join(dir, 'keys'), ['bench']);
    const trust = (await makeTrustDir(join(dir, 'trust'), [key!])).dir;
    const bundle = join(dir, 'image.bundle');
    const create: number[] = [], verify: number[] = [], sha256sum: number[] = [], nodeSha: number[] = [];
    let createRss = 0, verifyRss = 0;
    for (let r = 0; r < runs; r++) {
      const c = runChild(['--child', 'create', '--image', image, '--bundle', bundle, '--key', key!.privatePath, '--block-size', bs]);
      const v = runChild(['--child', 'verify', '--bundle', bundle, '--trust', trust]);
      create.push(c.ms);
      verify.push(v.ms);
      createRss = Math.max(createRss, c.maxRssKiB);
      verifyRss = Math.max(verifyRss, v.maxRssKiB);
      sha256sum.push(await timed(() => {
        const s = spawnSync('sha256sum', [image], { encoding: 'utf8' });
        if (s.status !== 0) throw new Error(`sha256sum failed: ${s.stderr}`);
      }));
      nodeSha.push(await timed(async () => {
        const h = createHash('sha256');
        for await (const chunk of createReadStream(image, { highWaterMark: MIB })) h.update(chunk as Buffer);
        h.digest();
      }));
    }
    const baseline = runChild(['--child', 'baseline', '--trust', trust]).maxRssKiB;
    const ratio = median(sha256sum) / median(verify);
    out(`image ${size / MIB} MiB random, block size ${Number(bs) / 1024} KiB, ${runs} runs, medians (wall clock incl. process start for create/verify)`);
    out(`create             ${mbps(median(create)).toFixed(0).padStart(6)} MB/s   peak RSS ${(createRss / 1024).toFixed(0)} MiB`);
    out(`verify             ${mbps(median(verify)).toFixed(0).padStart(6)} MB/s   peak RSS ${(verifyRss / 1024).toFixed(0)} MiB`);
    out(`sha256sum          ${mbps(median(sha256sum)).toFixed(0).padStart(6)} MB/s`);
    out(`node sha256 1 pass ${mbps(median(nodeSha)).toFixed(0).padStart(6)} MB/s`);
    out(`verify / sha256sum throughput ratio: ${ratio.toFixed(2)}`);
    out(`baseline RSS of a child that only loads the code: ${(baseline / 1024).toFixed(0)} MiB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await (values.child ? child() : main());
