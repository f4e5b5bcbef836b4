// Anti-rollback floor: the lowest release this node accepts, kept in a one-line text file.
// It only rises. A missing file means 0 (a fresh node); an unreadable one is an error, never 0,
// because falling back to 0 would quietly re-allow every old release.
import { access } from 'node:fs/promises';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import { readSmallFile } from './small-file.ts';

export async function readFloor(path: string): Promise<number> {
  try {
    await access(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
  }
  const text = await readSmallFile(path, 64, 'E_FLOOR_READ', 'release floor');
  const m = /^(\d{1,16})\n?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n)) throw new OutpostError('E_FLOOR_CORRUPT', `release floor ${path} is not a decimal integer`);
  return n;
}

// One writer per path in this process: read-compare-write must not interleave.
const queues = new Map<string, Promise<unknown>>();

/** Raises the floor to `release` (no-op if already there); refuses to lower it. */
export function raiseFloor(path: string, release: number): Promise<number> {
  const run = async () => {
    if (!Number.isSafeInteger(release) || release < 0) throw new OutpostError('E_FLOOR_VALUE', `not a release number: ${release}`);
    const current = await readFloor(path);
    if (release < current) throw new OutpostError('E_FLOOR_LOWER', `release floor is ${current}; refusing to lower it to ${release}`);
    if (release > current) await writeFileAtomic(path, `${release}\n`);
    return release;
  };
  const next = (queues.get(path) ?? Promise.resolve()).then(run, run);
  queues.set(path, next.catch(() => {}));
  return next;
}
