// Positioned reads and in-place writes on a regular file or a block device (same code path).
// Boot environments are never replaced by rename: the bootloader reads fixed sectors.
import { open } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';
import { writeFully } from '../../lib/write-fully.ts';

function ioError(err: unknown, path: string, what: string): OutpostError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new OutpostError('E_BOOTENV_MISSING', `${path}: does not exist`, { cause: err });
  return new OutpostError('E_BOOTENV_IO', `${path}: cannot ${what}: ${e.message}`, { cause: err, retryable: true });
}

/** Exactly `length` bytes at `offset`; a short device or file is E_BOOTENV_SIZE. */
export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(err, path, 'open');
  }
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new OutpostError('E_BOOTENV_SIZE', `${path}: ends before ${offset + length} bytes (environment at ${offset}, ${length} bytes)`);
      }
      done += bytesRead;
    }
    return buf;
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw ioError(err, path, 'read');
  } finally {
    await fh.close();
  }
}

/** Writes `data` at `offset` without truncating or extending semantics, then fsyncs. */
export async function writeAtSync(path: string, offset: number, data: Uint8Array): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    throw ioError(err, path, 'open for writing');
  }
  try {
    await writeFully(fh, data, offset);
    await fh.sync();
  } catch (err) {
    throw ioError(err, path, 'write');
  } finally {
    await fh.close();
  }
}
