// Inventory diffs on the flat wire form (documented in docs/inventory-location.md and the
// protocol): `set` holds every key that is new or has a new value, `unset` every key that is
// gone. Applying = delete every `unset` key, then assign every `set` key.
import type { Inventory } from '../../shared/protocol/messages.ts';

export interface FlatDiff {
  set: Inventory;
  unset: string[];
}

export function diffInventory(prev: Inventory, next: Inventory): FlatDiff {
  const set: Inventory = {};
  const unset: string[] = [];
  for (const k of Object.keys(prev).sort()) if (!Object.hasOwn(next, k)) unset.push(k);
  for (const k of Object.keys(next).sort()) if (!Object.hasOwn(prev, k) || prev[k] !== next[k]) set[k] = next[k]!;
  return { set, unset };
}

export function isEmptyDiff(d: FlatDiff): boolean {
  return d.unset.length === 0 && Object.keys(d.set).length === 0;
}

/** Applies a diff to a copy of `base` (what a hub does with a diff report). */
export function applyDiff(base: Inventory, diff: FlatDiff): Inventory {
  const out: Inventory = { ...base };
  for (const k of diff.unset) delete out[k];
  for (const [k, v] of Object.entries(diff.set)) out[k] = v;
  return out;
}
