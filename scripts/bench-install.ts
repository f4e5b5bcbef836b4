// Benchmark, run by hand as root: what installing an image costs next to the limits of this
// machine and next to RAUC, all in one run and interleaved (hash limit, I/O limit, RAUC, Outpost
// from a file, Outpost over HTTP, then again …) so that load from anything else on a shared
// machine hits every contender alike. Per contender: median and range of wall time, CPU time
// (user + system, fsync included) and peak private memory (RssAnon, polled), and ratios.
//
//   node scripts/bench-install.ts [--runs 5] [--sizes 256,2048] [--agent binary|source] [--parts install,create]
//                                 [--baseline CHECKOUT] [--formats 1,2] [--delta-change 2]
//                                 [--rows f1file,f1url,f2file,f2url,delta] [--refs openssl,dd,rauc,curl]
//                                 [--compare BINARY[,BINARY…]] [--image random|ext4]
//
// --rows and --refs pick the Outpost rows and the references (default: all). --compare runs other
// builds of the agent (e.g. a binary of an earlier commit, kept aside) in the same rounds as the
// one under test, each row tagged [1], [2] … in the order given, and each round started by the
// next build in turn: an A/B of two builds in one interleaved run, references alongside.
//
// --formats (default 1,2): `outpost install` of a format-1 bundle (1 MiB blocks) and of a format-2
// bundle (4 KiB blocks, each compressed on its own: what `outpost bundle create` writes unless told
// --format 1) of the same image, each from a file and over HTTP. The image is random, so format 2
// stores every block raw: its rows measure format 2's per-block costs, not decompression. Before
// the format-2 HTTP install both slots are zeroed: the delta's sample of them (local-probe.ts)
// then finds nothing worth a delta and it downloads in full, as a node does whose slots hold
// nothing of the new image.
// --image ext4 ships a filesystem instead: an ext4 image of the size, a little under half of it
// files (the start of a tar of /usr/lib and /usr/share) and the rest free space, zeros, as in a
// root filesystem made with room to grow (needs mkfs.ext4). Format 2 then compresses most
// blocks, and the zeros show what a node does with free space. The zeroed slots then hold part of
// the image, the zeros: where those weigh enough, the format-2 install over HTTP is a delta (its
// line of fetched bytes says how much it saved).
// The row "URL (format 2, delta N%)" is an update as a node sees one: the running slot holds the
// previous release, the new image with N% of its 4 KiB blocks changed at scattered places
// (--delta-change, default 2; 0 leaves the row out), so the delta reads most of it locally.
//
// --parts create adds `outpost bundle create` (formats 1 and 2) of a filesystem-like image (the
// first SIZE bytes of a tar of /usr/lib and /usr/share: real binaries and text, as compressible
// as a root filesystem), interleaved with `mender-artifact write rootfs-image` of the same image
// (Debian's `mender-artifact`: gzip and sha256, its defaults) when it is installed, and always
// with the compressor format 2 uses at its level plus sha256 of the image: `zstd -3` then
// `sha256sum` (two passes, as before), and one pass, the image read once through `tee` into
// `sha256sum` and `zstd -3` with one (-T1) or two (-T2) compression threads. Format 2 compresses
// 4 KiB blocks independently, which costs more than one stream; `zstd -b3 -B4096` shows by how much.
// Format 2 compresses on worker threads too when there is a second core; the row `one core` runs
// it under `taskset -c 0`, where it uses one thread.
//
// Outpost runs as shipped: the built binary (dist/outpost; `npm run build` first) or, with
// --agent source, bin/outpost.js on the pinned Node; default checkpoints, journal, and the
// shipped read-back policy. Every contender writes the same image into the same kind of slot: a
// partition of a GPT disk on a loop device. RAUC (Debian's `rauc`, plus squashfs-tools and
// dbus-daemon) runs as a service on a private D-Bus; the bench says so and goes on without it
// when it is not installed. `curl -o /dev/null` of the format-2 bundle from the same loopback
// server is the network reference: what receiving the bytes alone costs (TCP receive is charged to
// the receiving process), which an install over HTTP pays on top of one from a file and RAUC,
// installing from a file, does not.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { TestNode, REPO } from '../test/support/test-node.ts';
import { makeKit } from '../test/support/bundle-kit.ts';
import { binaryPath, PINNED_NODE } from './build/paths.ts';
import { update as updateSection } from '../agent/config/sections/update.ts';
import { measure, median, summary, type Sample } from './bench/measure.ts';
import { makeKeys, TEST_COMPATIBLE } from '../test/support/bundle-fixtures.ts';
import { serveFile } from './bench/file-server.ts';
import { RaucPeer } from './bench/rauc-peer.ts';

const INSTALL_ROWS = ['f1file', 'f1url', 'f2file', 'f2url', 'delta'];
const INSTALL_REFS = ['openssl', 'dd', 'rauc', 'curl'];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '256,2048' },
    agent: { type: 'string', default: 'binary' },
    parts: { type: 'string', default: 'install,create' },
    formats: { type: 'string', default: '1,2' },
    'delta-change': { type: 'string', default: '2' },
    'f2-block-size': { type: 'string', default: '4K' },
    rows: { type: 'string', default: INSTALL_ROWS.join(',') },
    refs: { type: 'string', default: INSTALL_REFS.join(',') },
    compare: { type: 'string' },
    image: { type: 'string', default: 'random' },
    // --parts create: also run `bundle create` of this checkout (an earlier version), from source
    baseline: { type: 'string' },
  },
});
const parts = new Set(values.parts.split(','));
const rows = new Set(values.rows.split(','));
const refs = new Set(values.refs.split(','));
for (const r of rows) if (!INSTALL_ROWS.includes(r)) throw new Error(`--rows: unknown row ${r} (one of ${INSTALL_ROWS.join(', ')})`);
if (!['random', 'ext4'].includes(values.image)) throw new Error(`--image: random or ext4, not ${values.image}`);
for (const r of refs) if (!INSTALL_REFS.includes(r)) throw new Error(`--refs: unknown reference ${r} (one of ${INSTALL_REFS.join(', ')})`);
const out = (s: string) => process.stdout.write(s + '\n');
const MiB = 1 << 20;

function outpostCommand(): string[] {
  if (values.agent === 'source') return [PINNED_NODE, join(REPO, 'bin/outpost.js')];
  const bin = binaryPath('x64');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (or --agent source)`);
  return [bin];
}

interface Disk {
  loop: string;
  part: (n: number) => string;
  /** Zeros over partition n, synced. Not a discard: on a loop device that punches holes in the backing file, and the next install would pay to allocate every block again, which no other contender does. */
  zero(n: number): void;
  detach(): void;
}

/** A GPT disk on a loop device with two partitions of `partBytes` each. */
async function loopDisk(dir: string, partBytes: number): Promise<Disk> {
  const disk = join(dir, 'disk.img');
  await writeFile(disk, '');
  await truncate(disk, 2 * partBytes + 4 * MiB);
  const t = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709';
  execFileSync('sfdisk', ['--quiet', disk], { input: `label: gpt\nsize=${partBytes / 1024}KiB, type=${t}\nsize=${partBytes / 1024}KiB, type=${t}\n` });
  const loop = execFileSync('losetup', ['--find', '--show', disk], { encoding: 'utf8' }).trim();
  execFileSync('partx', ['--add', loop]);
  return {
    loop,
    part: (n) => `${loop}p${n}`,
    zero: (n) => execFileSync('dd', ['if=/dev/zero', `of=${loop}p${n}`, 'bs=1M', `count=${partBytes / MiB}`, 'conv=fsync', 'status=none']),
    detach() {
      try {
        execFileSync('partx', ['--delete', loop]);
      } finally {
        // A device still open (a run that failed right after set-up, RAUC's service stopping) was
        // seen to stay attached after a detach: try again for a while, then say so.
        for (let i = 0; ; i++) {
          spawnSync('losetup', ['--detach', loop], { stdio: 'ignore' });
          if (!execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME'], { encoding: 'utf8' }).split('\n').includes(loop)) break;
          if (i === 50) throw new Error(`${loop} stays attached`);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    },
  };
}

/** The node's config as shipped, except a reboot that does nothing (RAUC does not reboot either). */
async function asShipped(node: TestNode): Promise<void> {
  const config = JSON.parse(await readFile(node.configPath, 'utf8'));
  // Test nodes checkpoint at byte granularity (checkpointSeconds 0): a node as shipped does not.
  delete config.update.checkpointBytes;
  delete config.update.checkpointSeconds;
  config.update.rebootCommand = ['/bin/true'];
  await writeFile(node.configPath, JSON.stringify(config, null, 2));
}

/**
 * The image with `share` of its 4 KiB blocks replaced by other bytes, spread over the whole image.
 * Copied, then patched in place: an image of 2 GiB or more does not fit one Buffer.
 */
async function previousRelease(image: string, out: string, share: number): Promise<string> {
  const BS = 4096;
  await copyFile(image, out);
  const fh = await open(out, 'r+');
  try {
    const blocks = Math.floor((await fh.stat()).size / BS);
    const every = Math.max(1, Math.round(1 / share));
    for (let b = 0; b < blocks; b += every) {
      const at = (b + (b * 7919) % every) % blocks; // scattered, deterministic
      await fh.write(Buffer.alloc(BS, (b * 31) & 0xff), 0, BS, at * BS);
    }
  } finally {
    await fh.close();
  }
  return out;
}

/** An ext4 image of `bytes`, 45 % of them files and the rest free (--image ext4). */
async function ext4Image(dir: string, bytes: number): Promise<string> {
  const root = join(dir, 'root');
  await mkdir(root, { recursive: true });
  // the tar is cut short on purpose: the second tar keeps what arrived whole and complains
  execFileSync('sh', ['-c', `tar cf - /usr/lib /usr/share 2>/dev/null | head -c ${Math.floor(bytes * 0.45)} | tar xf - -C '${root}' 2>/dev/null; true`]);
  const image = join(dir, 'fs.img');
  await writeFile(image, '');
  await truncate(image, bytes);
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', root, image]);
  await rm(root, { recursive: true, force: true });
  return image;
}

async function bench(sizeMiB: number, runs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-install-'));
  // undone in reverse, whatever fails: a set-up step that threw left its loop device attached
  const undo: Array<() => unknown> = [() => rm(dir, { recursive: true, force: true })];
  try {
    await benchIn(dir, sizeMiB, runs, undo);
  } finally {
    for (const step of undo.reverse()) await step();
  }
}

async function benchIn(dir: string, sizeMiB: number, runs: number, undo: Array<() => unknown>): Promise<void> {
  const partBytes = (sizeMiB + 16) * MiB;
  const newImage = values.image === 'ext4' ? await ext4Image(join(dir, 'ext4'), sizeMiB * MiB) : undefined;
  const kit = await makeKit({ imageSize: sizeMiB * MiB, oldSize: MiB, blockSize: MiB, newImage });
  undo.push(() => kit.dispose());
  const disk = await loopDisk(dir, partBytes);
  undo.push(() => disk.detach());
  const server = await serveFile(kit.bundle);
  undo.push(() => server.close());
  const outpost = outpostCommand();
  const formats = values.formats.split(',');
  const v1 = formats.includes('1');
  const v2 = formats.includes('2') ? join(dir, 'new-v2.bundle') : null;
  if (v2) {
    execFileSync(outpost[0]!, [...outpost.slice(1), 'bundle', 'create', '--image', kit.new.path, '--version', '2.0.0', '--release', '2', '--compatible', TEST_COMPATIBLE,
      '--key', join(dirname(kit.bundle), 'keys/k1.key'), '--out', v2, '--format', '2', '--block-size', values['f2-block-size']], { stdio: 'ignore' });
  }
  const server2 = v2 ? await serveFile(v2) : null;
  undo.push(() => server2?.close());
  const rauc = refs.has('rauc') ? await RaucPeer.start(join(dir, 'rauc'), kit.new.path, disk.part(2), disk.part(1)) : null;
  undo.push(() => rauc?.stop());
  if (rauc && !rauc.ok) out(`RAUC skipped: ${rauc.why}`);
  const curl = refs.has('curl') && server2 !== null && spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
  if (refs.has('curl') && server2 && !curl) out('network reference skipped: curl is not installed');
  // the build under test, then the ones to compare with it, tagged by their place in --compare
  const builds: Array<{ cmd: string[]; tag: string }> = [{ cmd: outpost, tag: '' }];
  for (const [k, bin] of (values.compare?.split(',') ?? []).entries()) {
    if (!existsSync(bin)) throw new Error(`--compare: ${bin} does not exist`);
    builds.push({ cmd: [bin], tag: ` [${k + 1}]` });
  }
  const samples = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => samples.set(name, [...(samples.get(name) ?? []), s]);
  /** Bytes each install over HTTP fetched, by row. */
  const fetched = new Map<string, number[]>();
  const f2 = values['f2-block-size'] === '4K' ? 'format 2' : `format 2, ${values['f2-block-size']} blocks`;
  const change = Number(values['delta-change']);
  const previous = server2 && change > 0 && rows.has('delta') ? await previousRelease(kit.new.path, join(dir, 'previous.img'), change / 100) : null;
  const install = async (cmd: string[], name: string, from: string, runningSlot?: string) => {
    const node = await TestNode.create({ kit, slotSize: partBytes, slotPaths: { A: disk.part(1), B: disk.part(2) } });
    try {
      await asShipped(node);
      if (runningSlot) execFileSync('dd', [`if=${runningSlot}`, `of=${disk.part(1)}`, 'bs=4M', 'conv=fsync', 'status=none']);
      const http = from === server2?.url ? server2 : from === server.url ? server : null;
      const before = http?.sent() ?? 0;
      add(name, await measure([...cmd, 'install', from, '--config', node.configPath]));
      if (http) fetched.set(name, [...(fetched.get(name) ?? []), http.sent() - before]);
      if ((await node.holds('B')) !== 'new') throw new Error(`${name}: slot B does not hold the new image`);
    } finally {
      await node.dispose();
    }
  };
  // one untimed round first: page cache, binary, RAUC service warm for everyone alike
  for (let i = 0; i <= runs; i++) {
    const keep = (name: string, s: Sample) => i > 0 && add(name, s);
    if (refs.has('openssl')) keep('openssl dgst -sha256', await measure(['openssl', 'dgst', '-sha256', kit.new.path]));
    if (refs.has('dd')) keep('dd conv=fsync', await measure(['dd', `if=${kit.new.path}`, `of=${disk.part(2)}`, 'bs=4M', 'conv=fsync', 'status=none']));
    if (rauc?.ok) keep('rauc install', await rauc.install());
    if (curl) keep('curl URL -o /dev/null (format 2)', await measure(['curl', '-sf', '-o', '/dev/null', server2!.url]));
    if (i === 0) continue;
    // each round starts with another build: none always runs right after the references
    for (const { cmd, tag } of [...builds.slice(i % builds.length), ...builds.slice(0, i % builds.length)]) {
      if (v1 && rows.has('f1file')) await install(cmd, `outpost install FILE (format 1)${tag}`, kit.bundle);
      if (v1 && rows.has('f1url')) await install(cmd, `outpost install URL (format 1)${tag}`, server.url);
      if (v2 && rows.has('f2file')) await install(cmd, `outpost install FILE (${f2})${tag}`, v2);
      if (!server2) continue;
      // the target slot still holds the new image from the run before, the running one perhaps
      // the previous release (delta row): a delta would copy them. Emptied, the download is in
      // full, after the delta's look at the slots.
      if (rows.has('f2url')) {
        disk.zero(1);
        disk.zero(2);
        await install(cmd, `outpost install URL (${f2})${tag}`, server2.url);
      }
      if (previous && rows.has('delta')) {
        disk.zero(2);
        await install(cmd, `outpost install URL (${f2}, delta ${change}%)${tag}`, server2.url, previous);
      }
    }
  }
  out(`\n${sizeMiB} MiB ${values.image === 'ext4' ? 'ext4 ' : ''}image, ${runs} interleaved runs each; Outpost: ${values.agent} (${outpost.join(' ')}), checkpoint every ${updateSection.fields.checkpointBytes.default! / MiB} MiB but at most every ${updateSection.fields.checkpointSeconds.default} s`);
  for (const b of builds.slice(1)) out(`rows tagged${b.tag}: ${b.cmd.join(' ')}`);
  out(summary(samples, sizeMiB));
  for (const [name, bytes] of fetched) out(`${name}: fetched ${(median(bytes) / MiB).toFixed(1)} MiB (median; the server's bytes, headers included)`);
}

/** Commands run one after the other as one contender: wall and CPU add up, memory is the larger peak. */
async function measureAll(cmds: string[][]): Promise<Sample> {
  const total: Sample = { wallS: 0, cpuS: 0, peakAnonKiB: 0 };
  for (const cmd of cmds) {
    const s = await measure(cmd);
    total.wallS += s.wallS;
    total.cpuS += s.cpuS;
    total.peakAnonKiB = Math.max(total.peakAnonKiB, s.peakAnonKiB);
  }
  return total;
}

function have(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// zstd then sha256sum (two reads of the image); `tee:` one read feeding both at once (their
// peak RssAnon column is the shell's alone: measure() polls direct children)
const REFS = ['zstd -3 -T1; sha256sum', 'tee: zstd -3 -T1+sha256', 'tee: zstd -3 -T2+sha256', 'mender-artifact write'] as const;

async function benchCreate(sizeMiB: number, runs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-create-'));
  const image = join(dir, 'rootfs.img');
  execFileSync('sh', ['-c', `tar cf - /usr/lib /usr/share 2>/dev/null | head -c ${sizeMiB * MiB} > ${image}`]);
  const keys = await makeKeys(join(dir, 'keys'));
  const outpost = outpostCommand();
  const mender = have('mender-artifact');
  const taskset = have('taskset') && availableParallelism() > 1;
  if (!mender) out('mender-artifact is not installed (apt-get install mender-artifact): bundle create is compared with zstd -3 and sha256sum only');
  // one pass: tee reads the image once and feeds sha256sum (through a named pipe) and zstd
  const onePass = (threads: number) => ['sh', '-c',
    `set -e; rm -f "$1/sha.fifo"; mkfifo "$1/sha.fifo"; sha256sum "$1/sha.fifo" >/dev/null & tee "$1/sha.fifo" < "$2" | zstd -q -3 -T${threads} -f -o "$1/rootfs.img.zst"; wait`,
    'sh', dir, image];
  const samples = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => samples.set(name, [...(samples.get(name) ?? []), s]);
  const baseline = values.baseline ? [PINNED_NODE, join(values.baseline, 'bin/outpost.js')] : null;
  const create = (format: number, cmd = outpost) => [...cmd, 'bundle', 'create', '--image', image, '--version', '1', '--release', '1', '--compatible', 'bench',
    '--key', keys[0]!.privatePath, '--out', join(dir, `f${format}.bundle`), '--format', String(format)];
  try {
    for (let i = 0; i <= runs; i++) {
      const keep = (name: string, s: Sample) => i > 0 && add(name, s);
      keep(REFS[0], await measureAll([['zstd', '-q', '-3', '-T1', '-f', image, '-o', join(dir, 'rootfs.img.zst')], ['sha256sum', image]]));
      keep(REFS[1], await measure(onePass(1)));
      keep(REFS[2], await measure(onePass(2)));
      if (mender) {
        keep(REFS[3], await measure(['mender-artifact', 'write', 'rootfs-image', '-f', image, '-t', 'bench', '-n', '1', '-o', join(dir, 'rootfs.mender')]));
      }
      keep('outpost create format 1', await measure(create(1)));
      keep('outpost create format 2', await measure(create(2)));
      // pinned to one core: availableParallelism() is 1, so format 2 runs on one thread (no workers)
      if (taskset) keep('outpost format 2, one core', await measure(['taskset', '-c', '0', ...create(2)]));
      if (baseline) keep('baseline format 2', await measure(create(2, baseline)));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  out(`\nbundle create of a ${sizeMiB} MiB filesystem-like image, ${runs} interleaved runs each; Outpost: ${values.agent}${baseline ? `, baseline: ${values.baseline} (source)` : ''}`);
  out(createSummary(samples, sizeMiB));
}

/** The table, then each Outpost row against the references measured in the same run. */
function createSummary(samples: Map<string, Sample[]>, sizeMiB: number): string {
  // summary() adds install ratios (hash, I/O, RAUC) to every Outpost row: none apply here
  const lines = summary(samples, sizeMiB).split('\n').filter((l) => !l.endsWith(': '));
  const med = (name: string) => {
    const xs = samples.get(name);
    return xs ? { wall: median(xs.map((x) => x.wallS)), cpu: median(xs.map((x) => x.cpuS)) } : null;
  };
  for (const ref of REFS) {
    const r = med(ref);
    if (!r) continue;
    for (const row of ['outpost create format 1', 'outpost create format 2', 'outpost format 2, one core', 'baseline format 2']) {
      const m = med(row);
      if (m) lines.push(`${row}: wall / ${ref} ${(m.wall / r.wall).toFixed(2)}x, CPU / ${ref} ${(m.cpu / r.cpu).toFixed(2)}x`);
    }
  }
  return lines.join('\n');
}

if (process.getuid?.() !== 0) {
  process.stderr.write('bench-install needs root (loop devices)\n');
  process.exit(1);
}
out(`load average at the start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const s of values.sizes.split(',').map(Number)) {
  if (parts.has('install')) await bench(s, Number(values.runs));
  if (parts.has('create')) await benchCreate(s, Number(values.runs));
}
out(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
