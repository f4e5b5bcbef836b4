// Identity of an inventory: sha256 over the canonical JSON of its flat wire form (keys sorted,
// no whitespace), excluding `volatile`. The hub compares these hashes (diff base, auth result).
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { flattenInventory } from './flat.ts';
import type { Inventory as FlatInventory } from '../../shared/protocol/messages.ts';
import type { Inventory, JsonObject } from './types.ts';

/** The part of a collected inventory that is reported (everything but `volatile`). */
export function factsOf(inv: Inventory | JsonObject): JsonObject {
  const { volatile: _volatile, ...facts } = inv as JsonObject;
  return facts;
}

/** A collected document's facts in the wire form. */
export function wireInventory(inv: Inventory | JsonObject): FlatInventory {
  return flattenInventory(factsOf(inv));
}

/** Hash of an inventory: a collected document or an already flat wire map give the same value. */
export function hashInventory(inv: Inventory | JsonObject | FlatInventory): string {
  return hashFlat(wireInventory(inv as JsonObject));
}

/** Hash of a map that is already in wire form (what a hub holds). */
export function hashFlat(flat: FlatInventory): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(flat)).digest('hex');
}
