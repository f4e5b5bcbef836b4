// Which simulated nodes a "bad" bundle fails on: a fixed share, picked by a seeded hash so a run
// can be repeated (and is not correlated with the hub's wave order, which hashes node keys).
import { createHash } from 'node:crypto';

export function chooseFailing(n: number, percent: number, seed: string): Set<number> {
  const want = Math.round((n * percent) / 100);
  const ranked = Array.from({ length: n }, (_, i) => ({ i, k: createHash('sha256').update(`${seed}:${i}`).digest('hex') }));
  ranked.sort((a, b) => (a.k < b.k ? -1 : 1));
  return new Set(ranked.slice(0, want).map((x) => x.i));
}
