// The wire form of an inventory (protocol v1): a flat map of dotted keys to scalars, arrays by
// index (`network.eth0.addresses.0`). Hubs, the operator tools and diffs all work on this form.
// Keys are emitted in sorted order and cut at the protocol's limits, so what is kept (and thus
// the hash) never depends on which collector happened to finish first.
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { Inventory, Scalar } from '../../shared/protocol/messages.ts';

/** Budget for one inventory's JSON, leaving room for the envelope inside a 64 KiB frame. */
export const WIRE_BYTES = 56 * 1024;
/** Present when keys were left out to fit the limits: how many. */
export const TRUNCATED_KEY = 'inventory.truncatedKeys';

function walk(value: unknown, prefix: string, out: Array<[string, Scalar]>): void {
  if (value === undefined || typeof value === 'function') return;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') out.push([prefix, value]);
  else if (typeof value === 'number') out.push([prefix, Number.isFinite(value) ? value : null]);
  else if (Array.isArray(value)) value.forEach((v, i) => walk(v, prefix ? `${prefix}.${i}` : String(i), out));
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, prefix ? `${prefix}.${k}` : k, out);
  }
}

/** Nested facts → the flat wire map. Idempotent: a flat map comes back unchanged. */
export function flattenInventory(value: unknown): Inventory {
  const pairs: Array<[string, Scalar]> = [];
  walk(value, '', pairs);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Inventory = {};
  let bytes = 2;
  let dropped = 0;
  let carried = 0;
  // Reserve one key and its bytes for the truncation marker.
  const maxKeys = LIMITS.inventoryKeys - 1;
  for (const [k, raw] of pairs) {
    const v = typeof raw === 'string' ? raw.slice(0, LIMITS.inventoryValue) : raw;
    const size = Buffer.byteLength(JSON.stringify(k)) + Buffer.byteLength(JSON.stringify(v)) + 2;
    if (k === TRUNCATED_KEY) {
      // Flattening the wire form again keeps its marker (idempotence, hence stable hashes).
      if (typeof raw === 'number') carried += raw;
      continue;
    }
    if (k.length === 0 || k.length > LIMITS.inventoryKey || Object.hasOwn(out, k)) {
      dropped++;
      continue;
    }
    if (Object.keys(out).length >= maxKeys || bytes + size > WIRE_BYTES) {
      dropped++;
      continue;
    }
    out[k] = v;
    bytes += size;
  }
  if (dropped + carried > 0) out[TRUNCATED_KEY] = dropped + carried;
  return out;
}
