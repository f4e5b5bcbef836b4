// One SlotDevice for regular files and block devices: only size() differs (fstat for a file,
// sysfs for a block device, whose st_size is 0). Writes are positional, bounded by capacity.
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { SlotDevice, SlotName, SlotWriter } from '../types.ts';
import { OutpostError } from '../../../shared/errors.ts';
import { openDirectWriter } from './direct-writer.ts';
import { finishWrites } from './finish-writes.ts';

export interface SlotDeviceOptions {
  name: SlotName;
  slotClass: string;
  path: string;
  /** Where block-device sizes are read (/sys/dev/block/MAJ:MIN/size, 512-byte sectors). */
  sysfs?: string;
}

const READ_CHUNK = 1 << 20;
// Write-behind: every this many bytes written, an fdatasync is started in the background (never
// more than one at a time), so the device writes while the next blocks are verified and the
// final fsync only waits for the tail instead of the whole image. A write-back error is reported
// to one fsync caller only (the kernel's errseq), so the background one's is kept for finish().
const WRITE_BEHIND_BYTES = 8 << 20;
const GATHER_BYTES = 1 << 20;
/** Writes at least this large go to the device as they are (format 1: 1 MiB blocks). */
const GATHER_MIN_DIRECT = 256 << 10;

export function openSlotDevice(opts: SlotDeviceOptions): SlotDevice {
  const sysfs = opts.sysfs ?? '/sys';
  let capacity: Promise<number> | undefined;
  const size = () => (capacity ??= slotSize(opts.path, sysfs));
  return {
    name: opts.name,
    slotClass: opts.slotClass,
    path: opts.path,
    size,
    async openWriter(offset = 0) {
      const cap = await size();
      if (offset < 0 || offset > cap) throw capacityError(opts.path, offset, cap);
      const fh = await openOrThrow(opts.path, 'r+');
      // a block device takes writes past the page cache (direct-writer.ts); a file slot (tests,
      // the demo, tmpfs) keeps the page cache
      const block = (await fh.stat().catch(() => null))?.isBlockDevice() ?? false;
      const direct = block ? await openDirectWriter(opts.path, fh, cap, (end) => capacityError(opts.path, end, cap)) : null;
      return direct ?? writerFor(fh, opts.path, cap);
    },
    async digest(length, signal) {
      const cap = await size();
      if (length > cap) throw capacityError(opts.path, length, cap);
      const fh = await openOrThrow(opts.path, 'r');
      try {
        const hash = createHash('sha256');
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        let pos = 0;
        while (pos < length) {
          signal?.throwIfAborted();
          const want = Math.min(READ_CHUNK, length - pos);
          const { bytesRead } = await fh.read(buf, 0, want, pos);
          if (bytesRead === 0) throw new OutpostError('E_SLOT_READ', `${opts.path}: unexpected end at ${pos} of ${length}`);
          hash.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
        return hash.digest('hex');
      } catch (err) {
        if (err instanceof OutpostError || (err as Error).name === 'AbortError') throw err;
        throw new OutpostError('E_SLOT_READ', `cannot read back ${opts.path}: ${(err as Error).message}`, { cause: err });
      } finally {
        await fh.close();
      }
    },
  };
}

function writerFor(fh: FileHandle, path: string, cap: number): SlotWriter {
  let closed = false;
  let finishing: Promise<void> | null = null;
  let unsynced = 0;
  let flushing: Promise<void> | null = null;
  let flushError: unknown = null;
  /** A failed write: nothing after it is accepted (what follows would not be where it belongs). */
  let writeError: unknown = null;
  // Small blocks (format 2: 4 KiB) gathered into one write: a thread-pool round trip per 4 KiB
  // block cost a 256 MiB install 1 s of CPU and left the main thread waiting as long again.
  let gather: Buffer | null = null;
  let gathered = 0;
  let gatherAt = 0;
  const writeBehind = () => {
    if (unsynced < WRITE_BEHIND_BYTES || flushing) return;
    unsynced = 0;
    flushing = fh.datasync().then(
      () => void (flushing = null),
      (err) => void ((flushError ??= err), (flushing = null)),
    );
  };
  const writeAt = async (data: Uint8Array, offset: number) => {
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw (writeError = new OutpostError('E_SLOT_WRITE', `cannot write ${path} at ${offset + done}: ${(err as Error).message}`, { cause: err }));
    }
    unsynced += data.length;
    writeBehind();
  };
  const drain = async () => {
    if (gathered === 0) return;
    const n = gathered;
    gathered = 0;
    await writeAt(gather!.subarray(0, n), gatherAt);
  };
  return {
    async write(offset, data) {
      if (closed) throw new OutpostError('E_SLOT_WRITE', `${path}: writer is closed`);
      if (writeError) throw writeError;
      if (offset < 0 || offset + data.length > cap) throw capacityError(path, offset + data.length, cap);
      if (data.length >= GATHER_MIN_DIRECT) {
        await drain();
        return writeAt(data, offset);
      }
      if (gathered > 0 && (offset !== gatherAt + gathered || gathered + data.length > GATHER_BYTES)) await drain();
      gather ??= Buffer.allocUnsafeSlow(GATHER_BYTES);
      if (gathered === 0) gatherAt = offset;
      gather.set(data, gathered); // copied: the caller reuses `data` once this returns
      gathered += data.length;
    },
    finish() {
      // once: a second call answers as the first did (a failed finish never turns into success)
      finishing ??= (async () => {
        closed = true;
        await finishWrites(path, async () => {
          await drain();
          await flushing;
          if (flushError) throw flushError;
        }, fh, async () => {
          await flushing; // not closed under a flush still running on the pool
          await fh.close();
        });
      })();
      return finishing;
    },
    async close() {
      if (finishing) return void (await finishing.catch(() => {}));
      if (closed) return;
      closed = true;
      await flushing; // not closed under a flush still running on the pool
      await fh.close();
    },
  };
}

async function openOrThrow(path: string, flags: string): Promise<FileHandle> {
  try {
    // Never create: a slot is provisioned storage, a missing one is a config error.
    return await open(path, flags);
  } catch (err) {
    throw new OutpostError('E_SLOT_OPEN', `cannot open slot ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function slotSize(path: string, sysfs: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new OutpostError('E_SLOT_OPEN', `cannot open slot ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (st.isFile()) return st.size;
  if (!st.isBlockDevice()) throw new OutpostError('E_SLOT_OPEN', `slot ${path} is neither a regular file nor a block device`);
  // glibc's gnu_dev_major/minor: the 64-bit dev_t splits each number across two fields.
  const dev = BigInt(st.rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const file = `${sysfs}/dev/block/${major}:${minor}/size`;
  try {
    return Number((await readFile(file, 'utf8')).trim()) * 512;
  } catch (err) {
    throw new OutpostError('E_SLOT_OPEN', `cannot read size of ${path} from ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function capacityError(path: string, end: number, cap: number): OutpostError {
  return new OutpostError('E_SLOT_CAPACITY', `${path}: ${end} bytes exceed the slot capacity of ${cap}`);
}
