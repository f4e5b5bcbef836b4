// Inventory diffs. Format (documented in docs/inventory-location.md):
//   { set: { "<json pointer>": value, … }, removed: ["<json pointer>", …] }
// Objects are compared key by key; arrays and scalars are replaced whole. Applying a diff =
// delete every `removed` path, then write every `set` path (creating parent objects).
// `/volatile` is never part of a diff.
import { factsOf } from './hash.ts';
import { jsonEqual } from './canonical-json.ts';
import type { Inventory, InventoryDiff, JsonObject, JsonValue } from './types.ts';
import { AgentError } from '../lib/errors.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function escapePointerToken(t: string): string {
  return t.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function parsePointer(p: string): string[] {
  if (!p.startsWith('/')) throw new AgentError('E_INVENTORY_DIFF', `not a JSON pointer: ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

export function diffInventory(prev: Inventory | JsonObject, next: Inventory | JsonObject): InventoryDiff {
  const out: InventoryDiff = { set: {}, removed: [] };
  walk(factsOf(prev), factsOf(next), '', out);
  return out;
}

function walk(a: JsonObject, b: JsonObject, base: string, out: InventoryDiff): void {
  for (const key of Object.keys(a).sort()) {
    if (!(key in b)) out.removed.push(`${base}/${escapePointerToken(key)}`);
  }
  for (const key of Object.keys(b).sort()) {
    const path = `${base}/${escapePointerToken(key)}`;
    const av = a[key];
    const bv = b[key] as JsonValue;
    if (isObject(av) && isObject(bv)) walk(av, bv, path, out);
    else if (!(key in a) || !jsonEqual(av, bv)) out.set[path] = bv;
  }
}

export function isEmptyDiff(d: InventoryDiff): boolean {
  return d.removed.length === 0 && Object.keys(d.set).length === 0;
}

/** Applies a diff to a copy of `base` (what a hub does with a diff report). */
export function applyDiff(base: JsonObject, diff: InventoryDiff): JsonObject {
  const doc = structuredClone(base);
  for (const p of diff.removed) {
    const tokens = parsePointer(p);
    const parent = descend(doc, tokens.slice(0, -1), false);
    if (parent) delete parent[tokens.at(-1)!];
  }
  for (const [p, value] of Object.entries(diff.set)) {
    const tokens = parsePointer(p);
    const parent = descend(doc, tokens.slice(0, -1), true)!;
    parent[tokens.at(-1)!] = structuredClone(value);
  }
  return doc;
}

function descend(doc: JsonObject, tokens: string[], create: boolean): JsonObject | null {
  let cur = doc;
  for (const t of tokens) {
    const next = cur[t];
    if (isObject(next)) cur = next;
    else if (create) cur = cur[t] = {};
    else return null;
  }
  return cur;
}
