// A real signed bundle made with the bundle tooling, plus the verifier bound to its key, and a
// file-backed slot-like sink that enforces block order (a duplicate or skipped block fails).
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createBundle } from '../../../shared/bundle/create.ts';
import { generateSigningKey, parsePrivateKey } from '../../../shared/bundle/keys.ts';
import { storeFromDocument } from '../../../shared/bundle/trust.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import type { BlockSink, BundleVerifier, VerifiedHead } from '../../../agent/bundle/types.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import type { ResumePoint } from '../../../agent/bundle/source.ts';

export interface TestBundle {
  file: string;
  bytes: Buffer;
  image: Buffer;
  imageSha256: string;
  verifier: BundleVerifier;
}

export async function makeTestBundle(dir: string, opts: { size: number; blockSize: number; name?: string; release?: number }): Promise<TestBundle> {
  const k = generateSigningKey('fetch-test');
  const key = parsePrivateKey(JSON.stringify(k.privateJwk));
  const image = randomBytes(opts.size);
  const imagePath = join(dir, `${opts.name ?? 'bundle'}.img`);
  await writeFile(imagePath, image);
  const file = join(dir, `${opts.name ?? 'bundle'}.tar`);
  await createBundle({
    payloads: [{ path: imagePath, name: 'rootfs.img', slotClass: 'rootfs', blockSize: opts.blockSize }],
    version: '1.0.0',
    release: opts.release ?? 1,
    compatible: ['test-board'],
    keys: [key],
    out: file,
  });
  const trust = storeFromDocument({ format: 1, version: 1, threshold: 1, keys: [{ id: k.id, publicKey: k.publicHex }], revoked: [], signatures: [] });
  return {
    file,
    bytes: await readFile(file),
    image,
    imageSha256: createHash('sha256').update(image).digest('hex'),
    verifier: createVerifier({ trust, releaseFloor: 0, compatible: ['test-board'] }),
  };
}

/** Writes blocks at their offset in a real file, like a slot; remembers what a journal would. */
export class FileSlotSink implements BlockSink {
  headBytes: Buffer | null = null;
  payload: PayloadEntry | null = null;
  nextBlock: number;
  validator: string | null;
  begins = 0;
  ended = false;
  onBlock: ((index: number) => void | Promise<void>) | null = null;
  readonly #path: string;
  #fh: FileHandle | null = null;

  constructor(path: string, resume: ResumePoint | null = null) {
    this.#path = path;
    this.nextBlock = resume?.nextBlock ?? 0;
    this.validator = resume?.validator ?? null;
    this.headBytes = resume?.headBytes ?? null;
  }

  async begin(head: VerifiedHead, payload: PayloadEntry): Promise<void> {
    this.begins++;
    this.headBytes ??= head.headBytes;
    this.payload = payload;
  }

  async block(payload: PayloadEntry, index: number, data: Buffer): Promise<void> {
    if (index !== this.nextBlock) throw new Error(`block ${index} arrived, expected ${this.nextBlock}`);
    this.payload ??= payload;
    if (!this.#fh) {
      await (await open(this.#path, 'a')).close(); // create if missing, keep what an earlier attempt wrote
      this.#fh = await open(this.#path, 'r+');
    }
    await this.#fh.write(data, 0, data.length, index * payload.blockSize);
    const n = Math.max(1, Math.ceil(data.length / payload.blockSize)); // a run of small blocks comes in one call
    for (let i = index; i < index + n; i++) {
      this.nextBlock = i + 1;
      await this.onBlock?.(i);
    }
  }

  async end(): Promise<void> {
    this.ended = true;
  }

  resumePoint(): ResumePoint & { headBytes: Buffer } {
    return { headBytes: this.headBytes!, payload: this.payload?.name ?? 'rootfs.img', nextBlock: this.nextBlock, validator: this.validator };
  }

  async close(): Promise<void> {
    await this.#fh?.close();
    this.#fh = null;
  }

  async digest(size: number): Promise<string> {
    await this.close();
    const data = await readFile(this.#path);
    return createHash('sha256').update(data.subarray(0, size)).digest('hex');
  }
}
