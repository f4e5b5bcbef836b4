// Identity of an inventory's facts: sha256 over canonical JSON, excluding `volatile`.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Inventory, JsonObject } from './types.ts';

/** The part of an inventory that is hashed and diffed (everything but `volatile`). */
export function factsOf(inv: Inventory | JsonObject): JsonObject {
  const { volatile: _volatile, ...facts } = inv as JsonObject;
  return facts;
}

export function hashInventory(inv: Inventory | JsonObject): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(factsOf(inv))).digest('hex');
}
