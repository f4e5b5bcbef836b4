// Inventory travels as a flat key → scalar map so diffs are trivial: nested data from the
// inventory module is flattened with dotted keys, arrays with indices.
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { Inventory, Scalar } from '../../shared/protocol/messages.ts';

export function flattenInventory(value: unknown, prefix = '', out: Inventory = {}): Inventory {
  const put = (k: string, v: Scalar) => {
    if (Object.keys(out).length >= LIMITS.inventoryKeys || k.length === 0 || k.length > LIMITS.inventoryKey) return;
    out[k] = typeof v === 'string' ? v.slice(0, LIMITS.inventoryValue) : v;
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') put(prefix, value);
  else if (typeof value === 'number') put(prefix, Number.isFinite(value) ? value : null);
  else if (Array.isArray(value)) value.forEach((v, i) => flattenInventory(v, prefix ? `${prefix}.${i}` : String(i), out));
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenInventory(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** What changed from `before` to `after`; null when nothing did. */
export function diffInventory(before: Inventory, after: Inventory): { set: Inventory; unset: string[] } | null {
  const set: Inventory = {};
  const unset: string[] = [];
  for (const [k, v] of Object.entries(after)) if (!(k in before) || before[k] !== v) set[k] = v;
  for (const k of Object.keys(before)) if (!(k in after)) unset.push(k);
  return Object.keys(set).length || unset.length ? { set, unset } : null;
}
