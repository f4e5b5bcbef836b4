// Anti-rollback floor: the lowest release this node accepts, kept in a one-line text file.
// It only rises. A missing file means 0 (a fresh node); an unreadable one is an error, never 0,
// because falling back to 0 would quietly re-allow every old release.
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import { readCounterFile } from './small-file.ts';

export function readReleaseFloor(path: string): Promise<number> {
  return readCounterFile(path, { what: 'release floor', maxDigits: 16, readCode: 'E_FLOOR_READ', corruptCode: 'E_FLOOR_CORRUPT' });
}

// One writer per path in this process: read-compare-write must not interleave.
const queues = new Map<string, Promise<unknown>>();

/** Raises the floor to `release` (no-op if already there); refuses to lower it. */
export function raiseReleaseFloor(path: string, release: number): Promise<number> {
  const run = async () => {
    if (!Number.isSafeInteger(release) || release < 0) throw new OutpostError('E_FLOOR_VALUE', `not a release number: ${release}`);
    const current = await readReleaseFloor(path);
    if (release < current) throw new OutpostError('E_FLOOR_LOWER', `release floor is ${current}; refusing to lower it to ${release}`);
    if (release > current) await writeFileAtomic(path, `${release}\n`);
    return release;
  };
  const next = (queues.get(path) ?? Promise.resolve()).then(run, run);
  queues.set(path, next.catch(() => {}));
  return next;
}
