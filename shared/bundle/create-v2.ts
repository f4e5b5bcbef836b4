// Format-2 payload creation in one pass over the image: each block is hashed and stored
// (compressed when that makes it smaller) into a spool file as group table + stored blocks; the
// index (group digests, stored sizes) is complete at the end and goes before the spool in the
// bundle. The image is read once; each block is compressed once.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { OutpostError } from '../errors.ts';
import { DEFAULT_ZSTD_LEVEL, encodeBlock } from './block-codec.ts';
import { DIGEST_BYTES, MAX_HEAD_BYTES, V2_SIZE_BYTES } from './format.ts';
import { groupDigestOf } from './stored-index.ts';

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
