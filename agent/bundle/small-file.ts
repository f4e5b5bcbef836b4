// Reads a small configuration-like file (key, trust document, floor) with a size cap, so a
// wrong path (a disk image, /dev/zero) fails fast instead of filling memory.
import { access, open } from 'node:fs/promises';
import { OutpostError, type ErrorCode } from '../../shared/errors.ts';

export async function readSmallFile(path: string, limit: number, code: ErrorCode, what: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new OutpostError(code, `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > limit) throw new OutpostError(code, `${what} ${path} is larger than ${limit} bytes`);
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError(code, `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await fh.close();
  }
}

export interface CounterFile {
  /** How it is named in messages, e.g. "release floor". */
  readonly what: string;
  readonly maxDigits: number;
  /** Code when the file cannot be read, and when it does not hold a decimal integer. */
  readonly readCode: ErrorCode;
  readonly corruptCode: ErrorCode;
}

/**
 * A one-line decimal counter that only rises (release floor, trust-version mark). A missing file
 * is 0 (a fresh node); an unreadable or damaged one is an error, never 0, because falling back to
 * 0 would quietly re-allow what the counter refuses.
 */
export async function readCounterFile(path: string, c: CounterFile): Promise<number> {
  try {
    await access(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
  }
  const text = await readSmallFile(path, 64, c.readCode, c.what);
  const m = new RegExp(`^(\\d{1,${c.maxDigits}})\\n?$`).exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n)) throw new OutpostError(c.corruptCode, `${c.what} ${path} is not a decimal integer`);
  return n;
}
