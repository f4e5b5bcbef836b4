// Measuring a command for the benches: wall and CPU time from /usr/bin/time, peak private memory
// (RssAnon: what a process really costs; VmRSS would count the binary's mapped text) polled from
// /proc while it runs. Summaries quote medians, ranges and ratios against references measured in
// the same run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Sample {
  wallS: number;
  /** user + system seconds. */
  cpuS: number;
  /** Peak RssAnon in KiB (polled every few ms: a lower bound). */
  peakAnonKiB: number;
}

export function rssAnonKiB(pid: number): number {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone
  }
}

/** utime + stime of a live process, in seconds. */
export function cpuSeconds(pid: number, hz = 100): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / hz;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls RssAnon of `pids()` until stopped; returns the peak of their sum. */
export function pollPeak(pids: () => number[], everyMs = 5): { stop(): number } {
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, pids().reduce((a, p) => a + rssAnonKiB(p), 0));
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

/** Runs cmd under /usr/bin/time; fails on a non-zero exit. */
export function measure(cmd: string[], env?: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %e %U %S', ...cmd], { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const poll = pollPeak(() => childrenOf(child.pid!));
    child.on('error', reject);
    child.on('close', (code) => {
      const peak = poll.stop();
      const m = /BENCH ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`${cmd.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      resolve({ wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]), peakAnonKiB: peak });
    });
  });
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;

/** A table of every contender plus ratios of the Outpost rows against the references. */
export function summary(samples: Map<string, Sample[]>, sizeMiB: number): string {
  const lines: string[] = [];
  const s2 = (x: number) => x.toFixed(2);
  const w = Math.max(24, ...[...samples.keys()].map((n) => n.length));
  const mib = (k: number) => (k / 1024).toFixed(1);
  lines.push(`${'contender'.padEnd(w)} ${'wall s (range)'.padEnd(20)} ${'MiB/s'.padStart(6)}  ${'CPU s (range)'.padEnd(20)} peak RssAnon MiB (range)`);
  const med = new Map<string, { wall: number; cpu: number; anon: number }>();
  for (const [name, xs] of samples) {
    const wall = median(xs.map((x) => x.wallS));
    const cpu = median(xs.map((x) => x.cpuS));
    const anon = median(xs.map((x) => x.peakAnonKiB));
    med.set(name, { wall, cpu, anon });
    lines.push(
      `${name.padEnd(w)} ${`${s2(wall)} (${range(xs.map((x) => x.wallS), s2)})`.padEnd(20)} ${(sizeMiB / wall).toFixed(0).padStart(6)}  ` +
        `${`${s2(cpu)} (${range(xs.map((x) => x.cpuS), s2)})`.padEnd(20)} ${mib(anon)} (${range(xs.map((x) => x.peakAnonKiB), mib)})`,
    );
  }
  const hash = med.get('openssl dgst -sha256');
  const io = med.get('dd conv=fsync');
  const rauc = med.get('rauc install');
  for (const [name, m] of med) {
    if (!name.startsWith('outpost')) continue;
    const parts: string[] = [];
    if (hash && io) parts.push(`wall / max(hash, I/O limit) ${(m.wall / Math.max(hash.wall, io.wall)).toFixed(2)}x`);
    if (rauc) parts.push(`wall / RAUC ${(m.wall / rauc.wall).toFixed(2)}x`, `CPU / RAUC ${(m.cpu / rauc.cpu).toFixed(2)}x`);
    if (hash) parts.push(`wall / openssl ${(m.wall / hash.wall).toFixed(2)}x`);
    if (io) parts.push(`wall / dd ${(m.wall / io.wall).toFixed(2)}x`);
    lines.push(`${name}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}
