// Writes to a block-device slot that bypass the page cache (O_DIRECT). Through the page cache,
// the kernel's copy of every byte and the bookkeeping of the dirty pages cost a 256 MiB install
// 0.3 s of system time when the machine was quiet and up to 1.1 s when it was not (dd to a loop
// device: 0.11-0.63 s buffered, 0.07-0.09 s with oflag=direct). The data is copied into one of
// two aligned buffers (O_DIRECT needs memory, offset and length aligned); one is written while
// the next is filled. A piece that is not aligned (the payload's short end) goes through the
// page cache on a second descriptor, and finish()'s fsync on that one flushes both: a block
// device's fsync always flushes the device's cache. A device that refuses O_DIRECT (EINVAL) gets
// the rest through the page cache.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { OutpostError } from '../../../shared/errors.ts';
import type { SlotWriter } from '../types.ts';
import { finishWrites } from './finish-writes.ts';
import { writeFully } from '../../lib/write-fully.ts';

/** Bytes per O_DIRECT write (each of the two buffers). */
const DIRECT_BYTES = 512 << 10;
/** Memory, offset and length alignment: 4096 covers devices of 512- and 4096-byte sectors. */
const DIRECT_ALIGN = 4096;
const WASM_PAGE = 64 << 10;
// Node has WebAssembly; its types come with the DOM library, which this project does not load.
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer } } }).WebAssembly;

/** O_DIRECT on `path`, or null where the kernel or filesystem refuses it. */
async function openDirect(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, constants.O_RDWR | constants.O_DIRECT);
  } catch {
    return null;
  }
}

/**
 * Aligned buffers: a WebAssembly memory starts on a page of its own, the one allocation whose
 * alignment JavaScript can count on (a Buffer's memory comes from malloc, 16-byte aligned). One
 * set is kept for the next writer (a writer is opened again after every checkpoint).
 */
let spare: Buffer[] | null = null;
function takeBuffers(): Buffer[] {
  const got = spare;
  spare = null;
  if (got) return got;
  const pages = (2 * DIRECT_BYTES) / WASM_PAGE;
  const mem = new Wasm.Memory({ initial: pages, maximum: pages });
  return [0, 1].map((k) => Buffer.from(mem.buffer, k * DIRECT_BYTES, DIRECT_BYTES));
}

/**
 * A direct writer for the block device `path` (`buffered`: a descriptor of it through the page
 * cache, which the writer then owns), or null where O_DIRECT or aligned memory cannot be had
 * (a filesystem or kernel that refuses O_DIRECT; no WebAssembly, an address-space limit): the
 * caller writes through the page cache instead.
 */
export async function openDirectWriter(path: string, buffered: FileHandle, cap: number, capacityError: (end: number) => OutpostError): Promise<SlotWriter | null> {
  const direct = await openDirect(path);
  if (!direct) return null;
  try {
    return directWriter(direct, buffered, path, cap, capacityError);
  } catch {
    await direct.close();
    return null;
  }
}

/**
 * A writer over `direct` (O_DIRECT) and `buffered` (the same device, through the page cache),
 * which it owns and closes. `capacityError` refuses a write past `cap`.
 */
export function directWriter(direct: FileHandle, buffered: FileHandle, path: string, cap: number, capacityError: (end: number) => OutpostError): SlotWriter {
  const bufs = takeBuffers();
  const inFlight: Array<Promise<void> | null> = [null, null];
  let cur = 0;
  let fill = 0;
  let at = 0;
  let useDirect = true;
  let closed = false;
  let finishing: Promise<void> | null = null;
  /** A failed write: nothing after it is written or accepted (what follows would not be where it belongs). */
  let writeError: OutpostError | null = null;

  const writeChunk = async (data: Buffer, offset: number) => {
    if (writeError) return;
    let done = 0;
    try {
      const aligned = offset % DIRECT_ALIGN === 0 ? data.length - (data.length % DIRECT_ALIGN) : 0;
      if (useDirect && aligned > 0) {
        try {
          await writeFully(direct, data.subarray(0, aligned), offset);
          done = aligned;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
          useDirect = false; // this device takes no O_DIRECT after all: the page cache it is
        }
      }
      await writeFully(buffered, data.subarray(done), offset + done);
    } catch (err) {
      writeError ??= new OutpostError('E_SLOT_WRITE', `cannot write ${path} at ${offset + done}: ${(err as Error).message}`, { cause: err });
    }
  };
  /** Starts writing the current buffer and moves to the other one, once its last write is done. */
  const submit = async () => {
    if (fill > 0) {
      const k = cur;
      inFlight[k] = writeChunk(bufs[k]!.subarray(0, fill), at);
      cur = 1 - cur;
      fill = 0;
    }
    await inFlight[cur];
    inFlight[cur] = null;
  };
  const settle = async () => {
    await Promise.all(inFlight);
    inFlight.fill(null);
  };
  const closeBoth = async () => {
    await settle(); // not closed under a write still running on the pool, nor its buffer given away
    spare = bufs;
    await Promise.all([direct.close(), buffered.close()]);
  };

  return {
    async write(offset, data) {
      if (closed) throw new OutpostError('E_SLOT_WRITE', `${path}: writer is closed`);
      if (offset < 0 || offset + data.length > cap) throw capacityError(offset + data.length);
      if (fill > 0 && offset !== at + fill) await submit();
      for (let done = 0; done < data.length; ) {
        if (writeError) throw writeError;
        if (fill === 0) at = offset + done;
        const n = Math.min(DIRECT_BYTES - fill, data.length - done);
        bufs[cur]!.set(data.subarray(done, done + n), fill); // copied: the caller reuses `data` once this returns
        fill += n;
        done += n;
        if (fill === DIRECT_BYTES) await submit();
      }
      if (writeError) throw writeError;
    },
    finish() {
      // once: a second call answers as the first did (a failed finish never turns into success)
      finishing ??= (async () => {
        closed = true;
        await finishWrites(path, async () => {
          await submit();
          await settle();
          if (writeError) throw writeError;
        }, buffered, closeBoth);
      })();
      return finishing;
    },
    async close() {
      if (finishing) return void (await finishing.catch(() => {}));
      if (closed) return;
      closed = true;
      await closeBoth();
    },
  };
}
