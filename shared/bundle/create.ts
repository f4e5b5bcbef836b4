// Bundle creation. A regular-file image is read once (copy-hash.ts): its bytes go to their final
// place in the output while the block digests and the whole-image sha256 are computed, on two
// threads. That works because every offset is known before any digest is: the manifest's length
// does not depend on the digests (fixed-length hex). Anything else (a pipe, a device) is read
// twice: pass 1 hashes, pass 2 writes and hashes again to catch an image that changed in between.
// Memory never depends on the image size. The output appears under its name only when complete.
// Format 2 (compressed blocks, two-level index) is written by create-v2.ts.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import {
  DEFAULT_BLOCK_SIZE, DIGEST_BYTES, FORMAT_VERSION, MANIFEST_SIG_CONTEXT, MAX_HEAD_BYTES, blockCount, paddedSize, TAR_EOF_BYTES, type FormatVersion,
} from './format.ts';
import { createBundleV2, type Threads } from './create-v2.ts';
import { signDetached, type SigningKey } from './keys.ts';
import { bundleLayout, type BundleLayout } from './layout.ts';
import { encodeManifest } from './manifest.ts';
import { encodeSignatureBlock } from './signature-block.ts';
import { encodeHeader } from './tar-header.ts';
import { copyAndHash, type Hashed } from './copy-hash.ts';
import type { Manifest, PayloadEntry } from './types.ts';

const READ_CHUNK = 1024 * 1024;
const NO_DIGEST = '0'.repeat(64);

export interface PayloadInput {
  /** File to read (regular file or block device). */
  readonly path: string;
  readonly name: string;
  readonly slotClass: string;
  readonly blockSize?: number;
  /** Format 2: blocks per group (power of two, 1–256). */
  readonly groupBlocks?: number;
}

export interface CreateOptions {
  readonly payloads: readonly PayloadInput[];
  readonly version: string;
  readonly release: number;
  readonly compatible: readonly string[];
  readonly keys: readonly SigningKey[];
  readonly out: string;
  readonly created?: Date;
  readonly signal?: AbortSignal;
  /** Bundle format to write (default FORMAT_VERSION). */
  readonly format?: FormatVersion;
  /** Format 2: zstd level for blocks (default 3). */
  readonly level?: number;
  /** Format 2: compression threads (default: defaultThreads() in create-v2.ts); for tests and benchmarks. */
  readonly threads?: Threads;
}

export interface Created {
  readonly manifest: Manifest;
  readonly layout: BundleLayout;
}

interface Input {
  readonly p: PayloadInput;
  readonly blockSize: number;
  /** Known up front for a regular file: then it is read once. */
  readonly size: number | null;
  hashed: Hashed | null;
}

function tooManyBlocks(path: string): OutpostError {
  return new OutpostError('E_BUNDLE_CREATE', `image ${path} needs too many blocks; use a larger --block-size`);
}

async function inspect(p: PayloadInput): Promise<Input> {
  const st = await stat(p.path).catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_CREATE', `cannot read image ${p.path}: ${err.message}`, { cause: err });
  });
  const blockSize = p.blockSize ?? DEFAULT_BLOCK_SIZE;
  const size = st.isFile() ? st.size : null;
  if (size === 0) throw new OutpostError('E_BUNDLE_CREATE', `image ${p.path} is empty`);
  if (size !== null && size > (MAX_HEAD_BYTES / DIGEST_BYTES) * blockSize) throw tooManyBlocks(p.path);
  return { p, blockSize, size, hashed: null };
}

/** Two-pass inputs, pass 1: per-block sha256 and whole sha256 without holding any block. */
async function hashStream(path: string, blockSize: number, signal?: AbortSignal): Promise<Hashed> {
  const total = createHash('sha256');
  const digests: Buffer[] = [];
  let block = createHash('sha256');
  let inBlock = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK, signal }) as AsyncIterable<Buffer>) {
    total.update(chunk);
    size += chunk.length;
    if (size > (MAX_HEAD_BYTES / DIGEST_BYTES) * blockSize) throw tooManyBlocks(path);
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(blockSize - inBlock, chunk.length - off);
      block.update(chunk.subarray(off, off + n));
      inBlock += n;
      off += n;
      if (inBlock === blockSize) {
        digests.push(block.digest());
        block = createHash('sha256');
        inBlock = 0;
      }
    }
  }
  if (inBlock > 0) digests.push(block.digest());
  if (size === 0) throw new OutpostError('E_BUNDLE_CREATE', `image ${path} is empty`);
  return { size, sha256: total.digest('hex'), index: Buffer.concat(digests) };
}

/** Two-pass inputs, pass 2: copy, and refuse an image that is not what pass 1 hashed. */
async function copyStream(input: Input, out: FileHandle, at: number, signal?: AbortSignal): Promise<void> {
  const want = input.hashed!;
  const total = createHash('sha256');
  let copied = 0;
  for await (const chunk of createReadStream(input.p.path, { highWaterMark: READ_CHUNK, signal }) as AsyncIterable<Buffer>) {
    const take = chunk.subarray(0, Math.max(0, Math.min(chunk.length, want.size - copied)));
    copied += chunk.length;
    total.update(take);
    for (let done = 0; done < take.length; ) done += (await out.write(take, done, take.length - done, at + copied - chunk.length + done)).bytesWritten;
  }
  if (copied !== want.size || total.digest('hex') !== want.sha256) {
    throw new OutpostError('E_BUNDLE_CREATE', `image ${input.p.path} changed while the bundle was being written`);
  }
}

function entryOf(input: Input): PayloadEntry {
  const h = input.hashed;
  const size = h?.size ?? input.size!;
  return {
    name: input.p.name,
    slotClass: input.p.slotClass,
    size,
    sha256: h?.sha256 ?? NO_DIGEST,
    blockSize: input.blockSize,
    blocks: blockCount(size, input.blockSize),
    indexSha256: h ? createHash('sha256').update(h.index).digest('hex') : NO_DIGEST,
  };
}

export function signManifest(manifestBytes: Buffer, keys: readonly SigningKey[]): Buffer {
  return encodeSignatureBlock(keys.map((k) => ({ keyId: k.id, sig: signDetached(k, MANIFEST_SIG_CONTEXT, manifestBytes) })));
}

export async function createBundle(o: CreateOptions): Promise<Created> {
  if (o.keys.length === 0) throw new OutpostError('E_BUNDLE_CREATE', 'at least one signing key is required');
  if ((o.format ?? FORMAT_VERSION) === 2) return createBundleV2(o);
  const inputs: Input[] = [];
  for (const p of o.payloads) inputs.push(await inspect(p));
  for (const i of inputs) if (i.size === null) i.hashed = await hashStream(i.p.path, i.blockSize, o.signal);
  const manifestOf = (): Manifest => ({
    format: FORMAT_VERSION,
    version: o.version,
    release: o.release,
    compatible: [...o.compatible],
    created: (o.created ?? new Date()).toISOString(),
    payloads: inputs.map(entryOf),
  });
  // The layout before any digest: digests are fixed-length hex, so the final manifest has the
  // same length as this draft (checked below).
  const draft = manifestOf();
  const draftBytes = encodeManifest(draft); // validates every field
  const layout = bundleLayout(draft, draftBytes.length);
  if (layout.headSize > MAX_HEAD_BYTES) throw new OutpostError('E_BUNDLE_CREATE', 'block indexes too large; use a larger --block-size');

  const tmp = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const put = async (at: number, b: Buffer) => {
      for (let done = 0; done < b.length; ) done += (await fh.write(b, done, b.length - done, at + done)).bytesWritten;
    };
    for (const input of inputs) {
      const at = layout.entries.find((e) => e.kind === 'payload' && e.payload === input.p.name)!.dataOffset;
      if (input.hashed) await copyStream(input, fh, at, o.signal);
      else input.hashed = await copyAndHash(input.p.path, input.size!, input.blockSize, fh, at, o.signal);
    }
    for (const input of inputs) {
      const st = await stat(input.p.path);
      if (st.isFile() && input.size !== null && st.size !== input.size) {
        throw new OutpostError('E_BUNDLE_CREATE', `image ${input.p.path} changed while the bundle was being written`);
      }
    }
    const manifest = { ...manifestOf(), created: draft.created };
    const manifestBytes = encodeManifest(manifest);
    if (manifestBytes.length !== draftBytes.length) throw new OutpostError('E_BUNDLE_CREATE', 'internal: manifest length changed with its digests');
    const signatures = signManifest(manifestBytes, o.keys);
    for (const e of layout.entries) {
      const input = inputs.find((i) => i.p.name === e.payload);
      const data = e.kind === 'manifest' ? manifestBytes : e.kind === 'signatures' ? signatures : e.kind === 'index' ? input!.hashed!.index : null;
      await put(e.headerOffset, encodeHeader(e.name, e.size));
      if (data) await put(e.dataOffset, data);
      await put(e.dataOffset + e.size, Buffer.alloc(paddedSize(e.size) - e.size));
    }
    await put(layout.totalSize - TAR_EOF_BYTES, Buffer.alloc(TAR_EOF_BYTES));
    await fh.sync();
    await fh.close();
    await rename(tmp, o.out);
    return { manifest: Object.freeze(manifest), layout };
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
