// A verified head whose bytes can leave memory once they are in a file (the update journal's
// copy): at 4 KiB blocks its format-2 indexes are 1 MiB per GiB of image, held for the whole
// install. From then on the indexes read pages from the file (index-pages.ts), and headBytes
// reads the file back, checked against the head's digest, the few times it is asked for.
import { readFileSync } from 'node:fs';
import { createHash, hash } from 'node:crypto';
import { OutpostError } from '../../shared/errors.ts';
import { releaseBuffer } from '../lib/release-buffer.ts';
import { readFileChunks } from './file-chunks.ts';
import { manifestBytesOf, manifestSha256 } from '../../shared/bundle/identity.ts';
import type { Manifest } from '../../shared/bundle/types.ts';
import type { VerifiedHead, VerifiedPayload } from './types.ts';

/** Read size of headChunks(). */
const HEAD_CHUNK_BYTES = 64 * 1024;

export class PageableHead implements VerifiedHead {
  readonly manifest: Manifest;
  readonly payloads: readonly VerifiedPayload[];
  readonly signers: readonly string[];
  readonly manifestSha256: string;
  /** Offset of each format-2 payload's index in the head bytes. */
  readonly #indexAt: ReadonlyMap<string, number>;
  #bytes: Buffer | null;
  #file: string | null = null;
  #digest: string | null = null;

  constructor(manifest: Manifest, headBytes: Buffer, payloads: readonly VerifiedPayload[], signers: readonly string[], indexAt: ReadonlyMap<string, number>) {
    this.manifest = manifest;
    this.#bytes = headBytes;
    this.payloads = payloads;
    this.signers = signers;
    this.#indexAt = indexAt;
    this.manifestSha256 = manifestSha256(manifestBytesOf(headBytes));
  }

  get headBytes(): Buffer {
    if (this.#bytes) return this.#bytes;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.#file!);
    } catch (err) {
      throw new OutpostError('E_BUNDLE_INDEX_PAGE', `cannot read the bundle head back from ${this.#file}: ${(err as Error).message}`, { cause: err });
    }
    if (hash('sha256', bytes) !== this.#digest) throw new OutpostError('E_BUNDLE_INDEX_PAGE', `the bundle head in ${this.#file} is not what was verified`);
    return bytes;
  }

  async *headChunks(): AsyncIterable<Buffer> {
    if (this.#bytes) {
      yield this.#bytes;
      return;
    }
    // a chunk at a time: headBytes would take the whole head (4 MiB at 4 GiB) back into memory
    const file = this.#file!;
    const digest = createHash('sha256');
    try {
      for await (const chunk of readFileChunks(file, { chunk: HEAD_CHUNK_BYTES })) {
        digest.update(chunk);
        yield chunk;
      }
    } catch (err) {
      throw new OutpostError('E_BUNDLE_INDEX_PAGE', `the bundle head in ${file} cannot be read back: ${(err as Error).message}`, { cause: err });
    }
    if (digest.digest('hex') !== this.#digest) throw new OutpostError('E_BUNDLE_INDEX_PAGE', `the bundle head in ${file} is not what was verified`);
  }

  pageFrom(file: string): void {
    if (!this.payloads.every((p) => p.stored)) return; // format 1: its block hashes are views of the bytes, which stay
    const bytes = this.#bytes;
    if (bytes) this.#digest = hash('sha256', bytes);
    this.#bytes = null;
    this.#file = file;
    for (const p of this.payloads) {
      const at = this.#indexAt.get(p.entry.name);
      if (p.stored && at !== undefined) p.stored.pageFrom(file, at);
    }
    // By now the buffer is old: a full install from a file peaked at its start on it (4 MiB at
    // 4 GiB) until V8 collected it. Nothing else views it: the parser let go of it.
    if (bytes) releaseBuffer(bytes);
  }
}
