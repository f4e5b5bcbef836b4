// Durable writes: temp file + fsync + rename + fsync of the directory, so a power cut leaves
// either the old or the new content, never a torn file.
import { open, rename, unlink, readFile, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isOutpostError, OutpostError } from '../../shared/errors.ts';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** data may come a chunk at a time; an OutpostError the chunks throw (bytes found bad) is passed on as it is, and nothing is renamed. */
export async function writeFileAtomic(path: string, data: string | Uint8Array | AsyncIterable<Uint8Array>, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    if (isOutpostError(err)) throw err;
    throw new OutpostError('E_STATE_WRITE', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}

export type JsonRead<T> =
  | { kind: 'missing' }
  | { kind: 'ok'; value: T }
  | { kind: 'corrupt'; reason: string; setAsideTo: string };

export type JsonPeek<T> = { kind: 'missing' } | { kind: 'ok'; value: T } | { kind: 'corrupt'; reason: string };

/** Reads and validates a JSON state file without touching it (a corrupt one is only reported). */
export async function readJson<T>(path: string, validate: (value: unknown) => T): Promise<JsonPeek<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  try {
    return { kind: 'ok', value: validate(JSON.parse(text)) };
  } catch (err) {
    return { kind: 'corrupt', reason: (err as Error).message };
  }
}

/**
 * Reads a JSON state file. A file that does not parse or fails `validate` is renamed to
 * `<name>.corrupt-<time>` (kept for the operator, never trusted) and reported as corrupt.
 */
export async function readJsonOrSetAside<T>(
  path: string,
  validate: (value: unknown) => T,
  now: () => number = Date.now,
): Promise<JsonRead<T>> {
  const r = await readJson(path, validate);
  if (r.kind !== 'corrupt') return r;
  const setAsideTo = `${path}.corrupt-${now()}`;
  await rename(path, setAsideTo);
  await fsyncDir(dirname(path));
  return { kind: 'corrupt', reason: r.reason, setAsideTo };
}
