// Benchmark, run by hand as root: `outpost install` of a 256 MiB and a 2 GiB bundle into a
// loop-device partition, wall time and peak RSS from /usr/bin/time -v, next to sha256sum of
// the same image in the same run. Medians of --runs runs (default 5 for 256 MiB, 3 for 2 GiB).
// Usage: node scripts/bench-install.ts [--runs N] [--sizes 256,2048]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { TestNode, REPO } from '../test/component/update/harness.ts';
import { makeKit } from '../test/component/update/kit.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' }, sizes: { type: 'string', default: '256,2048' } } });
const out = (s: string) => process.stdout.write(s + '\n');
const MiB = 1 << 20;

interface Timed {
  wallS: number;
  maxRssKiB: number;
}

function timeV(cmd: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-v', ...cmd], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  if (!rss || !wall) throw new Error(`cannot parse time -v output:\n${r.stderr}`);
  return { maxRssKiB: Number(rss[1]), wallS: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function bench(sizeMiB: number, runs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-install-'));
  const part = (sizeMiB + 16) * MiB;
  const kit = await makeKit({ imageSize: sizeMiB * MiB, oldSize: MiB, blockSize: MiB });
  let loop = '';
  try {
    const disk = join(dir, 'disk.img');
    await writeFile(disk, '');
    await truncate(disk, 2 * part + 4 * MiB);
    const t = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709';
    execFileSync('sfdisk', ['--quiet', disk], { input: `label: gpt\nsize=${part / 1024}KiB, type=${t}\nsize=${part / 1024}KiB, type=${t}\n` });
    loop = execFileSync('losetup', ['--find', '--show', disk], { encoding: 'utf8' }).trim();
    execFileSync('partx', ['--add', loop]);
    const installs: Timed[] = [];
    const sums: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      const node = await TestNode.create({ kit, slotSize: part, slotPaths: { A: `${loop}p1`, B: `${loop}p2` } });
      try {
        sums.push(timeV(['sha256sum', kit.new.path]));
        installs.push(timeV([process.execPath, join(REPO, 'bin/outpost.js'), 'install', kit.bundle, '--config', node.configPath]));
        if ((await node.holds('B')) !== 'new') throw new Error('slot B does not hold the new image after install');
      } finally {
        await node.dispose();
      }
    }
    const iw = median(installs.map((x) => x.wallS));
    const sw = median(sums.map((x) => x.wallS));
    out(`${sizeMiB} MiB image, ${runs} runs (medians):`);
    out(`  outpost install: ${iw.toFixed(2)} s (${(sizeMiB / iw).toFixed(0)} MiB/s), peak RSS ${(median(installs.map((x) => x.maxRssKiB)) / 1024).toFixed(1)} MiB`);
    out(`  sha256sum:       ${sw.toFixed(2)} s (${(sizeMiB / sw).toFixed(0)} MiB/s), peak RSS ${(median(sums.map((x) => x.maxRssKiB)) / 1024).toFixed(1)} MiB`);
    out(`  install / sha256sum wall time: ${(iw / sw).toFixed(2)}x`);
    out(`  raw install wall s: ${installs.map((x) => x.wallS.toFixed(2)).join(' ')}; RSS MiB: ${installs.map((x) => (x.maxRssKiB / 1024).toFixed(1)).join(' ')}`);
  } finally {
    if (loop) {
      try {
        execFileSync('partx', ['--delete', loop]);
      } finally {
        execFileSync('losetup', ['--detach', loop]);
      }
    }
    await kit.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.getuid?.() !== 0) {
  process.stderr.write('bench-install needs root (loop devices)\n');
  process.exit(1);
}
for (const s of values.sizes.split(',').map(Number)) await bench(s, Number(values.runs ?? (s > 1024 ? 3 : 5)));
