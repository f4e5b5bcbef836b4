// Format-2 bundle creation. Each payload is read once: each block is hashed and stored
// (compressed when that makes it smaller) into a spool file as group table + stored blocks; the
// index (group digests, stored sizes) is complete at the end and goes before the spool in the
// bundle, which is then written head first and the spool copied in. Each block is compressed once.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutpostError } from '../errors.ts';
import { DEFAULT_ZSTD_LEVEL, encodeBlock } from './block-codec.ts';
import {
  DIGEST_BYTES, MANIFEST_SIG_CONTEXT, MAX_HEAD_BYTES, paddedSize, TAR_EOF_BYTES, V2_DEFAULT_BLOCK_SIZE, V2_DEFAULT_GROUP_BLOCKS, V2_SIZE_BYTES,
} from './format.ts';
import { signDetached } from './keys.ts';
import { bundleLayout } from './layout.ts';
import { encodeManifest } from './manifest.ts';
import { encodeSignatureBlock } from './signature-block.ts';
import { groupDigestOf } from './stored-index.ts';
import { encodeHeader } from './tar-header.ts';
import type { CreateOptions, Created } from './create.ts';
import type { Manifest, PayloadEntry } from './types.ts';

const READ_CHUNK = 1024 * 1024;
const FLUSH_AT = 1024 * 1024;

export interface Spooled {
  readonly size: number;
  readonly sha256: string;
  readonly blocks: number;
  readonly index: Buffer;
  readonly storedSize: number;
}

export async function spoolPayload(
  path: string,
  spool: string,
  blockSize: number,
  groupBlocks: number,
  o: { level?: number; signal?: AbortSignal } = {},
): Promise<Spooled> {
  const st = await stat(path).catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_CREATE', `cannot read image ${path}: ${err.message}`, { cause: err });
  });
  if (st.isFile() && Math.ceil(st.size / blockSize) * (V2_SIZE_BYTES + DIGEST_BYTES / groupBlocks) > MAX_HEAD_BYTES) {
    throw new OutpostError('E_BUNDLE_CREATE', `image ${path} needs too many blocks; use a larger --block-size or --group-blocks`);
  }
  const level = o.level ?? DEFAULT_ZSTD_LEVEL;
  const whole = createHash('sha256');
  const groupDigests: Buffer[] = [];
  const sizes: number[] = [];
  const out = await open(spool, 'wx', 0o600);
  let at = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const b = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await out.write(b, 0, b.length, at);
    at += b.length;
  };
  let table: Buffer[] = [];
  let stored: Buffer[] = [];
  const endGroup = async () => {
    if (table.length === 0) return;
    const t = Buffer.concat(table);
    groupDigests.push(groupDigestOf(t));
    pending.push(t, ...stored);
    pendingBytes += t.length + stored.reduce((n, s) => n + s.length, 0);
    table = [];
    stored = [];
    if (pendingBytes >= FLUSH_AT) await flush();
  };
  const addBlock = async (raw: Buffer) => {
    table.push(createHash('sha256').update(raw).digest());
    const s = encodeBlock(raw, level);
    stored.push(s === raw ? Buffer.from(raw) : s); // raw may be a view of a reused read buffer
    sizes.push(s.length);
    if (table.length === groupBlocks) await endGroup();
  };
  let size = 0;
  let partial: Buffer | null = null;
  let fill = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK, signal: o.signal }) as AsyncIterable<Buffer>) {
      whole.update(chunk);
      size += chunk.length;
      let off = 0;
      if (partial) {
        const n = Math.min(blockSize - fill, chunk.length);
        chunk.copy(partial, fill, 0, n);
        fill += n;
        off = n;
        if (fill === blockSize) {
          await addBlock(partial);
          partial = null;
          fill = 0;
        }
      }
      for (; off + blockSize <= chunk.length; off += blockSize) await addBlock(chunk.subarray(off, off + blockSize));
      if (off < chunk.length) {
        partial = Buffer.alloc(blockSize);
        chunk.copy(partial, 0, off);
        fill = chunk.length - off;
      }
    }
    if (partial) await addBlock(partial.subarray(0, fill));
    await endGroup();
    await flush();
    await out.sync();
  } finally {
    await out.close();
  }
  if (size === 0) throw new OutpostError('E_BUNDLE_CREATE', `image ${path} is empty`);
  const sizeTable = Buffer.alloc(sizes.length * V2_SIZE_BYTES);
  sizes.forEach((s, i) => sizeTable.writeUInt16BE(s - 1, i * V2_SIZE_BYTES));
  return { size, sha256: whole.digest('hex'), blocks: sizes.length, index: Buffer.concat([...groupDigests, sizeTable]), storedSize: at };
}

export async function createBundleV2(o: CreateOptions): Promise<Created> {
  const base = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString('hex')}`);
  const spools: string[] = [];
  try {
    const entries: PayloadEntry[] = [];
    const indexes: Buffer[] = [];
    for (const [i, p] of o.payloads.entries()) {
      const blockSize = p.blockSize ?? V2_DEFAULT_BLOCK_SIZE;
      const groupBlocks = p.groupBlocks ?? V2_DEFAULT_GROUP_BLOCKS;
      spools.push(`${base}.${i}.spool`);
      const h = await spoolPayload(p.path, spools[i]!, blockSize, groupBlocks, { level: o.level, signal: o.signal });
      indexes.push(h.index);
      entries.push({
        name: p.name, slotClass: p.slotClass, size: h.size, sha256: h.sha256, blockSize, blocks: h.blocks,
        indexSha256: createHash('sha256').update(h.index).digest('hex'), groupBlocks, storedSize: h.storedSize,
      });
    }
    const manifest: Manifest = {
      format: 2, version: o.version, release: o.release, compatible: [...o.compatible], created: (o.created ?? new Date()).toISOString(), payloads: entries,
    };
    const manifestBytes = encodeManifest(manifest); // validates every field
    const layout = bundleLayout(manifest, manifestBytes.length);
    if (layout.headSize > MAX_HEAD_BYTES) throw new OutpostError('E_BUNDLE_CREATE', 'block indexes too large; use a larger --block-size or --group-blocks');
    const signatures = encodeSignatureBlock(o.keys.map((k) => ({ keyId: k.id, sig: signDetached(k, MANIFEST_SIG_CONTEXT, manifestBytes) })));
    const tmp = `${base}.tmp`;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      let at = 0;
      const put = async (b: Buffer) => {
        for (let done = 0; done < b.length; ) done += (await fh.write(b, done, b.length - done, at + done)).bytesWritten;
        at += b.length;
      };
      for (const e of layout.entries) {
        const i = o.payloads.findIndex((p) => p.name === e.payload);
        await put(encodeHeader(e.name, e.size));
        if (e.kind === 'payload') {
          let copied = 0;
          for await (const chunk of createReadStream(spools[i]!, { highWaterMark: READ_CHUNK, signal: o.signal }) as AsyncIterable<Buffer>) {
            copied += chunk.length;
            await put(chunk);
          }
          if (copied !== e.size) throw new OutpostError('E_BUNDLE_CREATE', `internal: spool of ${e.payload} has ${copied} bytes, expected ${e.size}`);
        } else {
          await put(e.kind === 'manifest' ? manifestBytes : e.kind === 'signatures' ? signatures : indexes[i]!);
        }
        await put(Buffer.alloc(paddedSize(e.size) - e.size));
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
  } finally {
    for (const s of spools) await unlink(s).catch(() => {});
  }
}
