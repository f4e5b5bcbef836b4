// A bundle path as a byte stream ("-" is stdin), with file errors turned into a stable code.
import { createReadStream } from 'node:fs';
import { OutpostError } from '../../../shared/errors.ts';

export async function* openBundle(path: string): AsyncGenerator<Buffer> {
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('E_BUNDLE_READ', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
