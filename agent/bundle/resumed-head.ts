// The head a resume goes on from: re-verified (trust store, floor and policy may have changed
// since), and, read from the journal's file, left there: its indexes page from the file. A file
// that cannot be read is E_JOURNAL_STATE; the write handler then writes from block 0.
import { readFile } from 'node:fs/promises';
import { OutpostError } from '../../shared/errors.ts';
import { releaseBuffer } from '../lib/release-buffer.ts';
import type { ResumePoint } from './source.ts';
import type { BundleVerifier, VerifiedHead } from './types.ts';

export async function resumedHead(verifier: BundleVerifier, resume: ResumePoint): Promise<VerifiedHead> {
  if (resume.headBytes) return verifier.verifyHeadBytes(resume.headBytes);
  const file = resume.headFile;
  if (file === undefined) throw new OutpostError('E_JOURNAL_STATE', 'a resume point without the bundle head');
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new OutpostError('E_JOURNAL_STATE', `cannot read the persisted bundle head ${file}: ${(err as Error).message}`, { cause: err });
  });
  const head = verifier.verifyHeadBytes(bytes); // the parser keeps a copy of its own
  head.pageFrom(file);
  releaseBuffer(bytes); // the read is garbage now
  return head;
}
