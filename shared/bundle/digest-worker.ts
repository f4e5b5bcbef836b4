// The whole-image sha256 of `bundle create`, on a worker thread: the main thread hashes the
// blocks and does the I/O while this one hashes the same bytes in the same shared buffers (no
// copies), so the two digests of one pass cost the wall time of one. The worker is code in a
// string, so the single binary needs no extra file.
import { Worker } from 'node:worker_threads';

const CODE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let sab = null;
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.sab) sab = m.sab;
  else if (m.end) {
    parentPort.postMessage({ digest: hash.digest('hex') });
    hash = createHash('sha256');
  } else {
    hash.update(new Uint8Array(sab, m.off, m.len));
    parentPort.postMessage({ ack: m.id });
  }
});
`;

export class WholeDigest {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (v: string | null) => void; reject: (e: Error) => void }>();
  #next = 0;
  #failed: Error | null = null;

  /** Hashes ranges of `sab`. */
  constructor(sab: SharedArrayBuffer) {
    this.#worker = new Worker(CODE, { eval: true });
    this.#worker.postMessage({ sab });
    this.#worker.on('message', (m: { ack?: number; digest?: string }) => {
      const id = m.digest !== undefined ? -1 : m.ack!;
      const w = this.#waiting.get(id);
      this.#waiting.delete(id);
      w?.resolve(m.digest ?? null);
    });
    const fail = (err: Error) => {
      this.#failed ??= err;
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`digest worker exited (${code})`)));
  }

  #ask(id: number, msg: object): Promise<string | null> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage(msg);
    });
  }

  /** Adds bytes [off, off + len) of the shared buffer; resolves once they were hashed (the range may then be reused). */
  update(off: number, len: number): Promise<unknown> {
    const id = this.#next++;
    return this.#ask(id, { id, off, len });
  }

  /** Hex digest of everything added since the last digest() (call after every update settled). */
  async digest(): Promise<string> {
    return (await this.#ask(-1, { end: true }))!;
  }

  async close(): Promise<void> {
    this.#failed ??= new Error('digest worker closed');
    await this.#worker.terminate();
  }
}
