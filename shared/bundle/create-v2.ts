// Format-2 bundle creation in one pass per image: each chunk read updates the whole-image sha256
// and is cut into blocks; each block is hashed and compressed once (kept raw when that is not
// smaller) and its stored form goes to the output through two reused buffers, a group table before
// each group's blocks. For a regular file every offset is known before any block is stored (the
// index size follows from the block count; the manifest holds fixed-length hex digests and, in the
// draft, an upper bound of each storedSize), so payloads go straight to their final place and the
// head is written last. Should the final manifest need one 512-byte tar block less than the draft
// (a storedSize with fewer digits across a boundary), the payloads are moved down once. An input
// of unknown size (a pipe, a device) is stored in a spool file first and copied in after.
// Memory never depends on the image size, only on the block and group size.
// Blocks are compressed synchronously, one frame each through one reused zstd context (node:zlib's
// async zstd on 4 KiB blocks costs 1.5-2x the CPU, a stream per block), on this thread and, for a
// large image with a free core, on worker threads too (compress-worker.ts); the bytes do not
// depend on how many.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { OutpostError } from '../errors.ts';
import { DEFAULT_ZSTD_LEVEL } from './block-codec.ts';
import { BlockRing, READ_JOBS } from './compress-worker.ts';
import {
  blockCount, DIGEST_BYTES, MANIFEST_SIG_CONTEXT, MAX_HEAD_BYTES, paddedSize, TAR_BLOCK, TAR_EOF_BYTES, V2_DEFAULT_BLOCK_SIZE, V2_DEFAULT_GROUP_BLOCKS, V2_SIZE_BYTES,
} from './format.ts';
import { signDetached } from './keys.ts';
import { bundleLayout, type BundleLayout } from './layout.ts';
import { encodeManifest } from './manifest.ts';
import { encodeSignatureBlock } from './signature-block.ts';
import { groupDigestOf } from './stored-index.ts';
import { encodeHeader } from './tar-header.ts';
import type { CreateOptions, Created, PayloadInput } from './create.ts';
import type { Manifest, PayloadEntry } from './types.ts';

const READ_CHUNK = 1024 * 1024;
const OUT_BUFFER = 1024 * 1024;
const NO_DIGEST = '0'.repeat(64);

async function writeAll(fh: FileHandle, data: Buffer, at: number): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await fh.write(data, done, data.length - done, at + done)).bytesWritten;
}

/** Stored form of one payload's blocks, handed to `sink` in order in buffers of about 1 MiB. */
class BlockStore {
  readonly #blockSize: number;
  readonly #groupBlocks: number;
  readonly #sink: (data: Buffer) => Promise<void>;
  readonly #table: Buffer;
  readonly #group: Buffer;
  readonly #out: [Buffer, Buffer];
  readonly #groupDigests: Buffer[] = [];
  readonly #sizes: number[] = [];
  #inGroup = 0;
  #groupBytes = 0;
  #current = 0;
  #fill = 0;
  /** The other buffer's write: it must end before that buffer is filled again. */
  #writing: Promise<void> = Promise.resolve();
  storedSize = 0;

  constructor(blockSize: number, groupBlocks: number, sink: (data: Buffer) => Promise<void>) {
    this.#blockSize = blockSize;
    this.#groupBlocks = groupBlocks;
    this.#sink = sink;
    this.#table = Buffer.alloc(groupBlocks * DIGEST_BYTES);
    this.#group = Buffer.alloc(groupBlocks * blockSize);
    const size = Math.max(OUT_BUFFER, groupBlocks * (DIGEST_BYTES + blockSize));
    this.#out = [Buffer.alloc(size), Buffer.alloc(size)];
  }

  /** Adds the next block by its digest and stored form; both may be reused once this returns. */
  async add(digest: Buffer, stored: Buffer): Promise<void> {
    digest.copy(this.#table, this.#inGroup * DIGEST_BYTES);
    stored.copy(this.#group, this.#groupBytes);
    this.#groupBytes += stored.length;
    this.#sizes.push(stored.length);
    if (++this.#inGroup === this.#groupBlocks) await this.#endGroup();
  }

  async #endGroup(): Promise<void> {
    if (this.#inGroup === 0) return;
    const table = this.#table.subarray(0, this.#inGroup * DIGEST_BYTES);
    this.#groupDigests.push(groupDigestOf(table));
    const need = table.length + this.#groupBytes;
    if (this.#fill + need > this.#out[this.#current].length) await this.#flush();
    const out = this.#out[this.#current];
    table.copy(out, this.#fill);
    this.#group.copy(out, this.#fill + table.length, 0, this.#groupBytes);
    this.#fill += need;
    this.storedSize += need;
    this.#inGroup = 0;
    this.#groupBytes = 0;
  }

  async #flush(): Promise<void> {
    if (this.#fill === 0) return;
    const full = this.#out[this.#current].subarray(0, this.#fill);
    await this.#writing;
    this.#writing = this.#sink(full);
    this.#writing.catch(() => {}); // awaited at the next flush or in end()
    this.#current ^= 1;
    this.#fill = 0;
  }

  /** Writes what is left; the block index (group digests, then stored sizes). */
  async end(): Promise<{ index: Buffer; blocks: number }> {
    await this.#endGroup();
    await this.#flush();
    await this.#writing;
    const sizeTable = Buffer.alloc(this.#sizes.length * V2_SIZE_BYTES);
    this.#sizes.forEach((s, i) => sizeTable.writeUInt16BE(s - 1, i * V2_SIZE_BYTES));
    return { index: Buffer.concat([...this.#groupDigests, sizeTable]), blocks: this.#sizes.length };
  }

  /** Waits for a write still running (after a failure), ignoring its outcome. */
  async settle(): Promise<void> {
    await this.#writing.catch(() => {});
  }
}

function changed(path: string): OutpostError {
  return new OutpostError('E_BUNDLE_CREATE', `image ${path} changed while the bundle was being written`);
}

/** Compression threads besides the main one, and the image size from which they start. */
export interface Threads {
  readonly workers: number;
  readonly fromBytes: number;
}

/**
 * One worker per further core, up to 3, from 16 MiB on: below that, starting a worker (an isolate,
 * some 90 ms of CPU, 10 MiB) costs more than it saves (16 MiB take some 0.1 s on one thread).
 */
export function defaultThreads(): Threads {
  return { workers: Math.min(3, availableParallelism() - 1), fromBytes: 16 * 1024 * 1024 };
}

/**
 * Reads the image once into `store`, block by block; returns its size and sha256. `size`, when
 * known, is what the layout was planned for: an image that grew or shrank is refused. The blocks
 * are hashed and compressed in a BlockRing, by this thread and, for a large image, by workers
 * (started once `threads.fromBytes` were read, or up front when the size says so): the next read
 * runs on the thread pool meanwhile.
 */
async function readInto(
  path: string, size: number | null, blockSize: number, level: number, threads: Threads, store: BlockStore, signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const whole = createHash('sha256');
  const input = await open(path, 'r').catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_CREATE', `cannot read image ${path}: ${err.message}`, { cause: err });
  });
  const ring = new BlockRing(blockSize, level);
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const startWorkers = () => {
    if (ring.workers === 0 && threads.workers > 0) ring.start(threads.workers, poke);
  };
  if ((size ?? 0) >= threads.fromBytes) startWorkers();
  // One read in flight; it fills READ_JOBS jobs (whole blocks: a pipe is read until full or EOF).
  let reading: Promise<void> | null = null;
  let got: { n: number } | { err: unknown } | null = null;
  let nextJob = 0; // the first job of the next read
  let published = 0;
  let taken = 0;
  let eof = false;
  let total = 0;
  const fill = async (into: Buffer) => {
    let n = 0;
    for (;;) {
      const { bytesRead } = await input.read(into, n, into.length - n, null);
      n += bytesRead;
      if (bytesRead === 0 || n === into.length) return n;
    }
  };
  // the next read, once the jobs its part of the ring held were taken
  const readNext = () => {
    if (reading || eof || nextJob + READ_JOBS - taken > ring.shape.jobs) return;
    reading = fill(ring.readTarget(nextJob)).then(
      (n) => { got = { n }; poke(); },
      (err: Error) => {
        got = { err: new OutpostError('E_BUNDLE_CREATE', `cannot read image ${path}: ${err.message}`, { cause: err }) };
        poke();
      },
    );
  };
  try {
    for (;;) {
      signal?.throwIfAborted();
      ring.check();
      ring.pace();
      // set by the read's callback: TypeScript cannot see that, hence the cast
      const g = got as { n: number } | { err: unknown } | null;
      if (g) {
        got = null;
        reading = null;
        if ('err' in g) throw g.err;
        const chunk = ring.readTarget(nextJob).subarray(0, g.n);
        whole.update(chunk);
        total += g.n;
        if (size !== null && total > size) throw changed(path);
        for (let k = 0; k * ring.jobBytes < g.n; k++) ring.publish(nextJob + k, Math.min(ring.jobBytes, g.n - k * ring.jobBytes));
        published = nextJob + Math.ceil(g.n / ring.jobBytes);
        nextJob += READ_JOBS;
        eof = g.n < ring.readBytes;
        if (total >= threads.fromBytes) startWorkers();
      }
      readNext();
      while (taken < published && ring.done(taken)) await ring.take(taken++, (d, s) => store.add(d, s));
      readNext(); // taking may have freed its part of the ring
      if (eof && taken === published) break;
      const j = ring.claim();
      if (j >= 0) {
        ring.run(j);
        // let a finished read or write call back before the next job
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (got) continue; // arrived while blocks were being taken
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await ring.close();
    await reading;
    await input.close();
  }
  if (total === 0) throw new OutpostError('E_BUNDLE_CREATE', `image ${path} is empty`);
  if (size !== null && total !== size) throw changed(path);
  return { size: total, sha256: whole.digest('hex') };
}

interface Input {
  readonly p: PayloadInput;
  readonly blockSize: number;
  readonly groupBlocks: number;
  /** Known up front for a regular file: then its blocks go straight to their final offset. */
  readonly size: number | null;
}

async function inspect(p: PayloadInput): Promise<Input> {
  const st = await stat(p.path).catch((err: Error) => {
    throw new OutpostError('E_BUNDLE_CREATE', `cannot read image ${p.path}: ${err.message}`, { cause: err });
  });
  const blockSize = p.blockSize ?? V2_DEFAULT_BLOCK_SIZE;
  const groupBlocks = p.groupBlocks ?? V2_DEFAULT_GROUP_BLOCKS;
  if (st.isFile() && st.size === 0) throw new OutpostError('E_BUNDLE_CREATE', `image ${p.path} is empty`);
  if (st.isFile() && Math.ceil(st.size / blockSize) * (V2_SIZE_BYTES + DIGEST_BYTES / groupBlocks) > MAX_HEAD_BYTES) {
    throw new OutpostError('E_BUNDLE_CREATE', `image ${p.path} needs too many blocks; use a larger --block-size or --group-blocks`);
  }
  return { p, blockSize, groupBlocks, size: st.isFile() ? st.size : null };
}

function checkHead(layout: BundleLayout): void {
  if (layout.headSize > MAX_HEAD_BYTES) throw new OutpostError('E_BUNDLE_CREATE', 'block indexes too large; use a larger --block-size or --group-blocks');
}

/** Moves `length` bytes at `from` down to `to` (< from) in the same file, front to back. */
async function moveDown(fh: FileHandle, from: number, to: number, length: number): Promise<void> {
  const buf = Buffer.alloc(READ_CHUNK);
  for (let done = 0; done < length; ) {
    const want = Math.min(buf.length, length - done);
    const { bytesRead } = await fh.read(buf, 0, want, from + done);
    if (bytesRead !== want) throw new OutpostError('E_BUNDLE_CREATE', `internal: short read moving payloads (${bytesRead} of ${want})`);
    await writeAll(fh, buf.subarray(0, want), to + done);
    done += want;
  }
}

async function copyFile(path: string, fh: FileHandle, at: number, expected: number): Promise<void> {
  const input = await open(path, 'r');
  try {
    const buf = Buffer.alloc(READ_CHUNK);
    let copied = 0;
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, copied);
      if (bytesRead === 0) break;
      await writeAll(fh, buf.subarray(0, bytesRead), at + copied);
      copied += bytesRead;
    }
    if (copied !== expected) throw new OutpostError('E_BUNDLE_CREATE', `internal: spool ${path} has ${copied} bytes, expected ${expected}`);
  } finally {
    await input.close();
  }
}

export async function createBundleV2(o: CreateOptions): Promise<Created> {
  const inputs: Input[] = [];
  for (const p of o.payloads) inputs.push(await inspect(p));
  const level = o.level ?? DEFAULT_ZSTD_LEVEL;
  const created = (o.created ?? new Date()).toISOString();
  const manifestOf = (payloads: PayloadEntry[]): Manifest => ({ format: 2, version: o.version, release: o.release, compatible: [...o.compatible], created, payloads });
  // Every input of known size: plan the layout now with placeholder digests and each storedSize
  // at its upper bound (no block is stored larger than it is, plus one table digest per block).
  const direct = inputs.every((i) => i.size !== null);
  let planned: BundleLayout | null = null;
  if (direct) {
    const draft = manifestOf(inputs.map((i) => {
      const blocks = blockCount(i.size!, i.blockSize);
      return {
        name: i.p.name, slotClass: i.p.slotClass, size: i.size!, sha256: NO_DIGEST, blockSize: i.blockSize, blocks,
        indexSha256: NO_DIGEST, groupBlocks: i.groupBlocks, storedSize: i.size! + blocks * DIGEST_BYTES,
      };
    }));
    planned = bundleLayout(draft, encodeManifest(draft).length); // encodeManifest validates every field
    checkHead(planned);
  }
  const base = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString('hex')}`);
  const tmp = `${base}.tmp`;
  const spools: string[] = [];
  const fh = await open(tmp, 'wx+', 0o644); // read too: payloads may move
  try {
    const entries: PayloadEntry[] = [];
    const indexes: Buffer[] = [];
    const firstPayload = planned?.entries.find((e) => e.kind === 'payload')!.dataOffset ?? 0;
    let at = firstPayload;
    for (const [n, i] of inputs.entries()) {
      let spool: FileHandle | null = null;
      if (!direct) {
        spools.push(`${base}.${n}.spool`);
        spool = await open(spools[n]!, 'wx', 0o600);
      }
      const target = spool ?? fh;
      let written = direct ? at : 0;
      const store = new BlockStore(i.blockSize, i.groupBlocks, async (data) => {
        const where = written;
        written += data.length;
        await writeAll(target, data, where);
      });
      try {
        const read = await readInto(i.p.path, i.size, i.blockSize, level, o.threads ?? defaultThreads(), store, o.signal);
        const { index, blocks } = await store.end();
        indexes.push(index);
        entries.push({
          name: i.p.name, slotClass: i.p.slotClass, size: read.size, sha256: read.sha256, blockSize: i.blockSize, blocks,
          indexSha256: createHash('sha256').update(index).digest('hex'), groupBlocks: i.groupBlocks, storedSize: store.storedSize,
        });
      } finally {
        await store.settle();
        await spool?.close();
      }
      if (direct) at += paddedSize(store.storedSize) + TAR_BLOCK;
    }
    const manifest = manifestOf(entries);
    const manifestBytes = encodeManifest(manifest);
    const layout = bundleLayout(manifest, manifestBytes.length);
    checkHead(layout);
    const payloads = layout.entries.filter((e) => e.kind === 'payload');
    if (direct) {
      const to = payloads[0]!.dataOffset;
      const last = payloads[payloads.length - 1]!;
      if (to !== firstPayload) await moveDown(fh, firstPayload, to, last.dataOffset + last.size - to);
    } else {
      for (const [n, e] of payloads.entries()) await copyFile(spools[n]!, fh, e.dataOffset, e.size);
    }
    const signatures = encodeSignatureBlock(o.keys.map((k) => ({ keyId: k.id, sig: signDetached(k, MANIFEST_SIG_CONTEXT, manifestBytes) })));
    for (const e of layout.entries) {
      await writeAll(fh, encodeHeader(e.name, e.size), e.headerOffset);
      if (e.kind !== 'payload') {
        const n = inputs.findIndex((i) => i.p.name === e.payload);
        await writeAll(fh, e.kind === 'manifest' ? manifestBytes : e.kind === 'signatures' ? signatures : indexes[n]!, e.dataOffset);
      }
      // explicit zeros: after a move, old payload bytes may lie here
      await writeAll(fh, Buffer.alloc(paddedSize(e.size) - e.size), e.dataOffset + e.size);
    }
    await writeAll(fh, Buffer.alloc(TAR_EOF_BYTES), layout.totalSize - TAR_EOF_BYTES);
    await fh.truncate(layout.totalSize);
    for (const i of inputs) {
      if (i.size !== null && (await stat(i.p.path)).size !== i.size) throw changed(i.p.path);
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, o.out);
    return { manifest: Object.freeze(manifest), layout };
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  } finally {
    for (const s of spools) await unlink(s).catch(() => {});
  }
}
