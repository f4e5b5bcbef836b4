// Spawns an agent process and collects its JSON-lines log; inspects its sockets via /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readlink, readFile } from 'node:fs/promises';

export interface AgentProcess {
  proc: ChildProcess;
  logs: () => Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnAgent(args: string[]): AgentProcess {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return {
    proc,
    logs: () => (err ? [...lines, { stderr: err }] : lines),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const gone = once(proc, 'exit');
      proc.kill(signal);
      const [code] = await gone;
      return code as number | null;
    },
  };
}

/** TCP sockets in LISTEN state and bound UDP sockets owned by `pid` (from /proc, like `ss -ltnup`). */
export async function listeningSockets(pid: number): Promise<string[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [local, , st, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
      const listening = table.startsWith('tcp') ? st === '0A' : true;
      if (listening && inodes.has(inode)) found.push(`${table} ${local}`);
    }
  }
  return found;
}

/** The inode count of open sockets: proves the check above looked at a process that has some. */
export async function socketCount(pid: number): Promise<number> {
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')).startsWith('socket:')) n++;
  }
  return n;
}
