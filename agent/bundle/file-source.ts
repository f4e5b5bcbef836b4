// A local bundle file (USB stick, scp'd file) as a BundleSource. Resume re-verifies the saved
// head, then reads from the first missing block: no byte before it is read again.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BundleSource } from './source.ts';
import { OutpostError } from '../../shared/errors.ts';
import { readFileChunks } from './file-chunks.ts';
import { streamEnd, streamOffset } from './payload-stream.ts';
import { resumedHead } from './resumed-head.ts';

export function fileSource(path: string): BundleSource {
  const abs = resolve(path);
  return {
    origin: abs,
    async deliver({ sink, resume, signal, verifier, onValidator }) {
      const validator = await validatorOf(abs);
      onValidator?.(validator);
      if (!resume) {
        return verifier.readBundle(readFileChunks(abs, { signal }), sink, signal);
      }
      if (resume.validator !== null && resume.validator !== validator) {
        throw new OutpostError('E_SOURCE_CHANGED', `${abs} changed since the interrupted attempt`);
      }
      const head = await resumedHead(verifier, resume);
      const p = head.payloads.find((x) => x.entry.name === resume.payload);
      if (!p) throw new OutpostError('E_SOURCE_CHANGED', `payload ${resume.payload} is not in ${abs}`);
      const start = streamOffset(p, resume.nextBlock);
      const stream = readFileChunks(abs, { start, end: streamEnd(p) - 1, signal });
      await verifier.readBlocks(stream, head, resume.payload, resume.nextBlock, sink, signal);
      return head;
    },
  };
}

async function validatorOf(path: string): Promise<string> {
  try {
    const st = await stat(path);
    return `file:${st.size}:${Math.floor(st.mtimeMs)}`;
  } catch (err) {
    throw new OutpostError('E_SOURCE_OPEN', `cannot open bundle ${path}: ${(err as Error).message}`, { cause: err });
  }
}
