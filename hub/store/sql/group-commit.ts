// Group commit of report batches across nodes. A durable commit costs one fsync (5–30 ms on a
// busy disk) whatever it holds, so one transaction per report caps a hub at ~100 reports/s and
// a burst waits in line. Instead, batches that arrive while the commits in flight (`parallel`)
// are busy wait for one of them and then go together, up to `max` of them, in the next
// transaction (a savepoint each, so one failing batch takes no other down); each caller's
// promise settles only after that COMMIT,
// so a report is never acknowledged before it is durable. No timer: a lone report commits at
// once, and the group grows with the load by itself.
import type { Db, Tx } from './db.ts';

interface Waiting<T> {
  /** Sort key: PostgreSQL takes the node rows' locks in this order, so two groups never deadlock. */
  key: string;
  fn: (tx: Tx) => Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<T> {
  readonly max: number;
  /** Groups committing at once: 1 on SQLite (one writer); on PostgreSQL several connections
   * work in parallel and the server shares WAL flushes between them, so one group at a time
   * would serialise every statement of a burst on one connection. */
  readonly parallel: number;
  #db: Db;
  #queue: Array<Waiting<T>> = [];
  #running = 0;
  /** Transactions committed and batches they carried (benchmarks read them). */
  commits = 0;
  batches = 0;

  constructor(db: Db, max: number, parallel = 1) {
    this.#db = db;
    this.max = Math.max(1, Math.floor(max));
    this.parallel = Math.max(1, Math.floor(parallel));
  }

  run(key: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    // One batch per transaction: nothing to group, the plain path.
    if (this.max === 1) return this.#db.tx(fn);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ key, fn, resolve, reject });
      if (this.#running < this.parallel) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#running++;
    try {
      while (this.#queue.length) {
        const group = this.#queue.splice(0, this.max).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        let results: Array<PromiseSettledResult<T>>;
        try {
          results = await this.#db.txEach(group.map((w) => w.fn));
        } catch (err) {
          results = group.map(() => ({ status: 'rejected', reason: err }));
        }
        this.commits++;
        this.batches += group.length;
        results.forEach((r, i) => (r.status === 'fulfilled' ? group[i]!.resolve(r.value) : group[i]!.reject(r.reason)));
      }
    } finally {
      this.#running--;
    }
  }
}
