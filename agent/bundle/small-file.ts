// Reads a small configuration-like file (key, trust document, floor) with a size cap, so a
// wrong path (a disk image, /dev/zero) fails fast instead of filling memory.
import { open } from 'node:fs/promises';
import { OutpostError } from '../../shared/errors.ts';

export async function readSmallFile(path: string, limit: number, code: string, what: string): Promise<string> {
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
