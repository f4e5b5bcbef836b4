// Bundle creation in two streaming passes, so image size never reaches memory: pass 1 hashes
// every block (index + whole digest), pass 2 writes the tar and re-hashes the image to catch a
// file that changed in between. Format 2 reads the image once into a spool of stored blocks
// (create-v2.ts) and copies that. The output appears under its name only when complete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OutpostError } from '../errors.ts';
import { spoolPayload } from './create-v2.ts';
import {
  DEFAULT_BLOCK_SIZE, DIGEST_BYTES, FORMAT_VERSION, V2_DEFAULT_BLOCK_SIZE, V2_DEFAULT_GROUP_BLOCKS, type FormatVersion, MANIFEST_SIG_CONTEXT, MAX_HEAD_BYTES, paddedSize, TAR_EOF_BYTES,
} from './format.ts';
import { signDetached, type SigningKey } from './keys.ts';
import { bundleLayout, type BundleLayout } from './layout.ts';
import { encodeManifest } from './manifest.ts';
import { encodeSignatureBlock } from './signature-block.ts';
import { encodeHeader } from './tar-header.ts';
import type { Manifest, PayloadEntry } from './types.ts';

const READ_CHUNK = 1024 * 1024;

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
}

export interface Created {
  readonly manifest: Manifest;
  readonly layout: BundleLayout;
}

interface Hashed {
  readonly size: number;
  readonly sha256: string;
  readonly index: Buffer;
  /** Format 2: file holding the payload entry's data. */
  readonly spool?: string;
}

/** Pass 1: per-block sha256 and whole sha256 without holding any block. */
async function hashFile(path: string, blockSize: number, signal?: AbortSignal): Promise<Hashed> {
  const st = await stat(path).catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_CREATE', `cannot read image ${path}: ${err.message}`, { cause: err });
  });
  const expected = st.isFile() ? st.size : null;
  if (expected !== null && expected > MAX_HEAD_BYTES / DIGEST_BYTES * blockSize) {
    throw new OutpostError('E_BUNDLE_CREATE', `image ${path} needs too many blocks; use a larger --block-size`);
  }
  const total = createHash('sha256');
  const digests: Buffer[] = [];
  let block = createHash('sha256');
  let inBlock = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK, signal }) as AsyncIterable<Buffer>) {
    total.update(chunk);
    size += chunk.length;
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

export function signManifest(manifestBytes: Buffer, keys: readonly SigningKey[]): Buffer {
  return encodeSignatureBlock(keys.map((k) => ({ keyId: k.id, sig: signDetached(k, MANIFEST_SIG_CONTEXT, manifestBytes) })));
}

export async function createBundle(o: CreateOptions): Promise<Created> {
  if (o.keys.length === 0) throw new OutpostError('E_BUNDLE_CREATE', 'at least one signing key is required');
  const format = o.format ?? FORMAT_VERSION;
  const hashed: Hashed[] = [];
  const entries: PayloadEntry[] = [];
  const spoolBase = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString('hex')}`);
  try {
    return await write(o, format, hashed, entries, spoolBase);
  } finally {
    for (const h of hashed) if (h.spool) await unlink(h.spool).catch(() => {});
  }
}

async function write(o: CreateOptions, format: FormatVersion, hashed: Hashed[], entries: PayloadEntry[], spoolBase: string): Promise<Created> {
  for (const [i, p] of o.payloads.entries()) {
    if (format === 2) {
      const blockSize = p.blockSize ?? V2_DEFAULT_BLOCK_SIZE;
      const groupBlocks = p.groupBlocks ?? V2_DEFAULT_GROUP_BLOCKS;
      const spool = `${spoolBase}.${i}.spool`;
      hashed.push({ size: 0, sha256: '', index: Buffer.alloc(0), spool });
      const h = await spoolPayload(p.path, spool, blockSize, groupBlocks, { level: o.level, signal: o.signal });
      hashed[i] = { size: h.size, sha256: h.sha256, index: h.index, spool };
      entries.push({
        name: p.name, slotClass: p.slotClass, size: h.size, sha256: h.sha256, blockSize, blocks: h.blocks,
        indexSha256: createHash('sha256').update(h.index).digest('hex'), groupBlocks, storedSize: h.storedSize,
      });
      continue;
    }
    const blockSize = p.blockSize ?? DEFAULT_BLOCK_SIZE;
    const h = await hashFile(p.path, blockSize, o.signal);
    hashed.push(h);
    entries.push({
      name: p.name,
      slotClass: p.slotClass,
      size: h.size,
      sha256: h.sha256,
      blockSize,
      blocks: h.index.length / DIGEST_BYTES,
      indexSha256: createHash('sha256').update(h.index).digest('hex'),
    });
  }
  const manifest: Manifest = {
    format,
    version: o.version,
    release: o.release,
    compatible: [...o.compatible],
    created: (o.created ?? new Date()).toISOString(),
    payloads: entries,
  };
  const manifestBytes = encodeManifest(manifest); // validates every field
  const layout = bundleLayout(manifest, manifestBytes.length);
  if (layout.headSize > MAX_HEAD_BYTES) throw new OutpostError('E_BUNDLE_CREATE', 'block indexes too large; use a larger --block-size');
  const signatures = signManifest(manifestBytes, o.keys);

  const tmp = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    let at = 0;
    const put = async (b: Buffer) => {
      await fh.write(b, 0, b.length, at);
      at += b.length;
    };
    const entry = async (name: string, data: Buffer) => {
      await put(encodeHeader(name, data.length));
      await put(data);
      await put(Buffer.alloc(paddedSize(data.length) - data.length));
    };
    for (const e of layout.entries) {
      if (e.kind === 'manifest') await entry(e.name, manifestBytes);
      else if (e.kind === 'signatures') await entry(e.name, signatures);
      else if (e.kind === 'index') await entry(e.name, hashed[o.payloads.findIndex((p) => p.name === e.payload)]!.index);
      else if (format === 2) {
        const i = o.payloads.findIndex((p) => p.name === e.payload);
        await put(encodeHeader(e.name, e.size));
        let copied = 0;
        for await (const chunk of createReadStream(hashed[i]!.spool!, { highWaterMark: READ_CHUNK, signal: o.signal }) as AsyncIterable<Buffer>) {
          copied += chunk.length;
          await put(chunk);
        }
        if (copied !== e.size) throw new OutpostError('E_BUNDLE_CREATE', `internal: spool of ${e.payload} has ${copied} bytes, expected ${e.size}`);
        await put(Buffer.alloc(paddedSize(e.size) - e.size));
      } else {
        const i = o.payloads.findIndex((p) => p.name === e.payload);
        const p = entries[i]!;
        await put(encodeHeader(e.name, p.size));
        const total = createHash('sha256');
        let copied = 0;
        for await (const chunk of createReadStream(o.payloads[i]!.path, { highWaterMark: READ_CHUNK, signal: o.signal }) as AsyncIterable<Buffer>) {
          const take = chunk.subarray(0, Math.max(0, Math.min(chunk.length, p.size - copied)));
          copied += chunk.length;
          total.update(take);
          await put(take);
        }
        if (copied !== p.size || total.digest('hex') !== p.sha256) {
          throw new OutpostError('E_BUNDLE_CREATE', `image ${o.payloads[i]!.path} changed while the bundle was being written`);
        }
        await put(Buffer.alloc(paddedSize(p.size) - p.size));
      }
    }
    await put(Buffer.alloc(TAR_EOF_BYTES));
    if (at !== layout.totalSize) throw new OutpostError('E_BUNDLE_CREATE', `internal: wrote ${at} bytes, layout says ${layout.totalSize}`);
    await fh.sync();
    await fh.close();
    await rename(tmp, o.out);
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return { manifest: Object.freeze(manifest), layout };
}
