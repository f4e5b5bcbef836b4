// A few reusable block buffers. A block's bytes are copied once, from the source's chunk (or a
// decoder) into a pool buffer, and that buffer goes through hashing and the slot write and comes
// back here: no per-block allocation, so no garbage for the collector to let pile up during an
// install. (Small blocks are copied into the pipeline's run buffers instead, from the pool or
// straight from the source's chunk: verify-pipeline.ts.)
// The pool never blocks: the pipeline bounds how many buffers are out (see verify-pipeline.ts).

export class BlockPool {
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  /** keep: buffers held for reuse; more may be out at once only if the caller allows it. */
  constructor(keep: number) {
    this.#keep = keep;
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one when it is the short last block). */
  take(size: number): Buffer {
    for (;;) {
      const b = this.#free.pop();
      if (!b) return Buffer.allocUnsafeSlow(size); // own ArrayBuffer: never a slice of Node's shared pool
      if (b.buffer.byteLength >= size) return Buffer.from(b.buffer, 0, size);
      // smaller than needed (a payload with a larger block size): let it go
    }
  }

  /** Returns a buffer from take(); the caller must not touch it afterwards. */
  give(b: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(b);
  }
}
