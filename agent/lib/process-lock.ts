// An exclusive lock between processes on one node (the daemon and the `outpost install |
// commit | rollback` CLI touch the same journal, slots and boot env). Node has no flock(2),
// so: a lock file created with O_EXCL holding `pid boot-id`. A holder that died (pid gone, or
// the node rebooted since) leaves a stale file, which the next caller sets aside and replaces.
import { open, readFile, rename, unlink, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AgentError } from './errors.ts';

export interface ProcessLock {
  readonly path: string;
  release(): Promise<void>;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(path: string, me: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(me);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new AgentError('E_LOCK', `cannot create lock ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Holder of `path` if it is alive, or null when the file is stale (or vanished). */
async function liveHolder(path: string, boot: string): Promise<{ pid: number; ino: number } | null> {
  let text: string;
  let ino: number;
  try {
    ino = (await stat(path)).ino;
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  const [pidText, holderBoot] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  // An empty file is a holder between create and write: treat it as alive.
  if (text === '') return { pid: 0, ino };
  if (!Number.isInteger(pid) || pid <= 0 || holderBoot !== boot || !alive(pid)) return null;
  return { pid, ino };
}

/**
 * Takes the lock or fails at once with `code` (default E_UPDATE_BUSY): callers are operators
 * and daemons that must say "busy" rather than wait behind a deployment.
 */
export async function acquireLock(path: string, what: string, code = 'E_UPDATE_BUSY'): Promise<ProcessLock> {
  const boot = bootId();
  const me = `${process.pid} ${boot}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path, me)) {
      return {
        path,
        async release() {
          // Only remove it if it is still ours.
          const text = await readFile(path, 'utf8').catch(() => '');
          if (text === me) await unlink(path).catch(() => {});
        },
      };
    }
    const holder = await liveHolder(path, boot);
    if (holder) {
      throw new AgentError(code, `${what} is busy: process ${holder.pid || '(starting)'} holds ${path}`, { retryable: true });
    }
    // Stale: set it aside under a unique name (kept for the operator), then try again.
    const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
    await rename(path, aside).catch(() => {});
    await unlink(aside).catch(() => {});
  }
  throw new AgentError(code, `${what} is busy: could not take ${path}`, { retryable: true });
}

export async function withLock<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, what);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
