// An exclusive lock between processes on one node (the daemon and the `outpost install |
// commit | rollback` CLI touch the same journal, slots and boot env). Node has no flock(2), so:
// a lock file holding `pid boot-id`, always written complete (temp file, then rename/link: never
// seen empty). A holder that died (pid gone, or the node rebooted since) leaves a stale file.
// Every look-and-write of the lock happens inside a gate (`<lock>.gate`, held for milliseconds),
// so two processes that both find it stale cannot both end up holding it; nobody but its owner
// ever removes a lock, a stale one is replaced by an atomic rename.
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OutpostError } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/error-codes.ts';

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

async function writeTemp(path: string, content: string): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

function lockError(path: string, err: unknown): OutpostError {
  return new OutpostError('E_LOCK', `cannot create lock ${path}: ${(err as Error).message}`, { cause: err });
}

/** Creates `path` holding `content` atomically: true, or false when it already exists. */
async function createWith(path: string, content: string): Promise<boolean> {
  let tmp: string | null = null;
  try {
    tmp = await writeTemp(path, content);
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockError(path, err);
  } finally {
    if (tmp) await unlink(tmp).catch(() => {});
  }
}

/** Writes `path` (creating or replacing it) atomically. */
async function replaceWith(path: string, content: string): Promise<void> {
  let tmp: string | null = null;
  try {
    tmp = await writeTemp(path, content);
    await rename(tmp, path);
    tmp = null;
  } catch (err) {
    throw lockError(path, err);
  } finally {
    if (tmp) await unlink(tmp).catch(() => {});
  }
}

/** The live holder's pid, or null when the file is stale, unreadable or gone. */
async function liveHolder(path: string, boot: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  const [pidText, holderBoot] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  // Files are only ever written complete, so anything unparsable is damage: stale.
  if (!Number.isInteger(pid) || pid <= 0 || holderBoot !== boot || !alive(pid)) return null;
  return pid;
}

/**
 * Takes the lock or fails at once with `code` (default E_UPDATE_BUSY): callers are operators
 * and daemons that must say "busy" rather than wait behind a deployment.
 */
export async function acquireLock(path: string, what: string, code: ErrorCode = 'E_UPDATE_BUSY'): Promise<ProcessLock> {
  const boot = bootId();
  const me = `${process.pid} ${boot}\n`;
  const gate = `${path}.gate`;
  const busy = (pid: number | null) =>
    new OutpostError(code, `${what} is busy: ${pid ? `process ${pid}` : 'another process'} holds ${path}`, { retryable: true });
  // The gate is held for a few file operations; waiting a little for it is not "busy".
  for (let attempt = 0; attempt < 200; attempt++) {
    if (!(await createWith(gate, me))) {
      // A gate whose holder died mid-way (a kill in those milliseconds) is removed.
      if ((await liveHolder(gate, boot)) === null) await unlink(gate).catch(() => {});
      else await sleep(10);
      continue;
    }
    try {
      const holder = await liveHolder(path, boot);
      if (holder !== null) throw busy(holder);
      await replaceWith(path, me);
    } finally {
      await unlink(gate).catch(() => {});
    }
    return {
      path,
      async release() {
        // Only remove it if it is still ours (nobody replaces a live lock).
        const text = await readFile(path, 'utf8').catch(() => '');
        if (text === me) await unlink(path).catch(() => {});
      },
    };
  }
  throw busy(null);
}

export async function withLock<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, what);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
