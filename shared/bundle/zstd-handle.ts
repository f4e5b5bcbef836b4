// The one module that reaches into node:zlib (the worker code in compress-worker.ts is a string
// that cannot import it, so it repeats these calls): a zstd stream keeps its native handle in `_handle`
// and what is left of the output and input after each call in `_writeState`; node:zlib's own sync
// path calls handle.writeSync() and reads that. Through it one zstd context serves many blocks,
// where the public one-shot calls build a stream and a context per block. Node-internal: callers
// check a probe frame first and fall back to the public calls when this returns null or the probe
// differs.
import { constants, type ZstdCompress, type ZstdDecompress } from 'node:zlib';

export interface NativeZstd {
  /** One call into zstd with all of `input` and `out` as the output space: [output space left, input left]. */
  write(input: Buffer, out: Buffer): readonly [outLeft: number, inLeft: number];
  /** False once the stream has dropped its handle (what it does on an error). */
  readonly alive: boolean;
}

type WriteSync = (flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number) => void;

export function nativeZstd(stream: ZstdCompress | ZstdDecompress): NativeZstd | null {
  const internal = stream as unknown as { _handle?: { writeSync?: unknown } | null; _writeState?: unknown };
  const handle = internal._handle;
  const state = internal._writeState;
  if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array)) return null;
  const writeSync = handle.writeSync as WriteSync;
  return {
    write(input, out) {
      writeSync.call(handle, constants.ZSTD_e_end, input, 0, input.length, out, 0, out.length);
      return [state[0]!, state[1]!];
    },
    get alive() {
      return internal._handle === handle;
    },
  };
}
