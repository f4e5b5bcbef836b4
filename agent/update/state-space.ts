// Bounds on what deployments leave in the state dir, and the free-space check before a new one
// journals: a hub sending offer after failing offer must neither fill the state partition with
// records nor start a deployment that cannot even write its journal.
import { readdir, statfs, unlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '../../shared/errors.ts';

/** Finished deployments whose record (deployments/<id>.json) and log (<id>.log) are kept. */
export const KEEP_DEPLOYMENT_RECORDS = 20;

/** Journal, head bytes and the start of a log need well under this; below it a deployment is refused. */
export const STATE_HEADROOM_BYTES = 1 << 20;

/** Deletes the records and logs of all but the newest `keep` deployments (by modification time); never `protect`. */
export async function pruneDeploymentRecords(dir: string, protect: string, keep = KEEP_DEPLOYMENT_RECORDS): Promise<number> {
  const d = join(dir, 'deployments');
  const names = await readdir(d).catch(() => [] as string[]);
  const newest = new Map<string, number>();
  for (const n of names) {
    const m = /^(.+)\.(json|log)$/.exec(n);
    if (!m) continue;
    const t = (await stat(join(d, n)).catch(() => null))?.mtimeMs ?? 0;
    newest.set(m[1]!, Math.max(newest.get(m[1]!) ?? 0, t));
  }
  const old = [...newest].sort((a, b) => b[1] - a[1]).slice(keep).map(([id]) => id).filter((id) => id !== protect);
  for (const id of old) {
    await unlink(join(d, `${id}.json`)).catch(() => {});
    await unlink(join(d, `${id}.log`)).catch(() => {});
  }
  return old.length;
}

/**
 * Room set aside in the state dir while a deployment runs: when the disk fills and a journal
 * write fails for good, deleting it lets the deployment's end (journal and record) be written,
 * so a restart never resumes a deployment the hub was told had failed.
 */
export const SPACE_RESERVE_FILE = 'space-reserve';
export const SPACE_RESERVE_BYTES = 64 << 10;

/** Best effort: a state dir without room for it is refused before a deployment anyway. */
export async function setSpaceReserve(dir: string): Promise<void> {
  const path = join(dir, SPACE_RESERVE_FILE);
  if ((await stat(path).catch(() => null))?.size === SPACE_RESERVE_BYTES) return;
  // Written bytes, not a sparse file: the space must really be taken.
  await writeFile(path, Buffer.alloc(SPACE_RESERVE_BYTES, 0x5a)).catch(() => unlink(path).catch(() => {}));
}

/** Frees the reserve; true when there was one. */
export async function releaseSpaceReserve(dir: string): Promise<boolean> {
  return unlink(join(dir, SPACE_RESERVE_FILE)).then(() => true, () => false);
}

/** Refuses (E_STATE_NO_SPACE, retryable) when the state dir's filesystem has less than `need` bytes free. */
export async function checkStateSpace(dir: string, need: number): Promise<void> {
  let free: number;
  try {
    const s = await statfs(dir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return; // cannot tell: the writes themselves will say
  }
  if (free < need) {
    throw new OutpostError('E_STATE_NO_SPACE', `the state directory ${dir} has ${free} bytes free; a deployment needs ${need}`, { retryable: true });
  }
}
