// A bundle path as a byte stream ("-" is stdin), with file errors turned into a stable code.
import { OutpostError } from '../../../shared/errors.ts';
import { readFileChunks } from '../file-chunks.ts';

export async function* openBundle(path: string): AsyncGenerator<Buffer> {
  // A file's chunks are reused buffers: fine for the bundle reader, which copies what it keeps.
  const stream = path === '-' ? process.stdin : readFileChunks(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('E_BUNDLE_READ', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
