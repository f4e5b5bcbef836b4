// The fleet as the dashboard's table and map read it: every node matching a filter, read once and
// shared for `maxAgeMs`, with its sorted orders kept beside it. Reading 10,000 node rows is most of
// a second of the store's time; the page hears of changes at most once a second (events.ts) and
// refreshes at most every 2 s, so a list younger than a second shows what a fresh one would, and
// the requests of one page load, of every open tab and of overlapping refreshes share one read.
// A caller may accept an older list (the map: a picture taken when it opens, never refreshed live).
import type { NodeFilter, NodeRow } from '../store/types.ts';

export type SortKey = (n: NodeRow) => string | number;

interface Entry {
  at: number;
  nodes: Promise<NodeRow[]>;
  /** Sort name → the nodes in ascending order (ties by id). */
  sorted: Map<string, NodeRow[]>;
}

/** Distinct filters kept at once (each operator's current one, a few tabs). */
const MAX_ENTRIES = 16;
/** The oldest list any caller may ask for. */
export const KEEP_MS = 10_000;

export class FleetSnapshots {
  readonly #read: (f: NodeFilter) => Promise<NodeRow[]>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(read: (f: NodeFilter) => Promise<NodeRow[]>, o: { maxAgeMs?: number; now?: () => number } = {}) {
    this.#read = read;
    this.#maxAgeMs = o.maxAgeMs ?? 1000;
    this.#now = o.now ?? Date.now;
  }

  #entry(filter: NodeFilter, maxAgeMs: number): Entry {
    const now = this.#now();
    for (const [k, e] of this.#entries) if (now - e.at >= Math.max(this.#maxAgeMs, KEEP_MS)) this.#entries.delete(k);
    const key = JSON.stringify(Object.entries(filter).sort(([a], [b]) => (a < b ? -1 : 1)));
    let e = this.#entries.get(key);
    if (!e || now - e.at >= maxAgeMs) {
      const entry: Entry = { at: now, nodes: this.#read(filter), sorted: new Map() };
      // A failed read is not shared: the next request tries again.
      entry.nodes.catch(() => { if (this.#entries.get(key) === entry) this.#entries.delete(key); });
      this.#entries.delete(key); // re-inserted last: the map's order is oldest first
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, entry);
      e = entry;
    }
    return e;
  }

  /** The matching nodes, read at most `maxAgeMs` ago (default: the snapshots' own). */
  nodes(filter: NodeFilter, maxAgeMs = this.#maxAgeMs): Promise<NodeRow[]> {
    return this.#entry(filter, Math.min(maxAgeMs, KEEP_MS)).nodes;
  }

  /** The matching nodes in ascending `name` order, ties by id (keys computed once per node). */
  async sorted(filter: NodeFilter, name: string, key: SortKey): Promise<NodeRow[]> {
    const e = this.#entry(filter, this.#maxAgeMs);
    const nodes = await e.nodes;
    let out = e.sorted.get(name);
    if (!out) {
      const keyed = nodes.map((n) => ({ k: key(n), n }));
      keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0));
      out = keyed.map((x) => x.n);
      e.sorted.set(name, out);
    }
    return out;
  }
}
