// Applying inventory reports to the copy the hub holds, with a per-node cap. A diff applies only
// on the base it names and must produce the hash it names; otherwise the hub keeps what it has
// and asks for a full inventory. Beyond the caps the copy is stored truncated (sorted keys first)
// with the node's own hash, so its next diff still finds its base and no refresh loop starts.
import { hashFlat } from '../../../agent/inventory/hash.ts';
import type { Inventory, InventoryReport } from '../../../shared/protocol/index.ts';

export interface HeldInventory {
  data: Inventory;
  hash: string | null;
  truncated: boolean;
  keys: number;
  bytes: number;
}

export type InventoryMode = 'full' | 'diff' | 'duplicate' | 'wrong-base' | 'truncated';

const entryBytes = (k: string, v: unknown) => Buffer.byteLength(JSON.stringify(k)) + Buffer.byteLength(JSON.stringify(v)) + 2;

function capped(inv: Inventory, maxKeys: number, maxBytes: number): { data: Inventory; truncated: boolean; keys: number; bytes: number } {
  const keys = Object.keys(inv);
  let bytes = 2;
  for (const k of keys) bytes += entryBytes(k, inv[k]);
  if (keys.length <= maxKeys && bytes <= maxBytes) return { data: inv, truncated: false, keys: keys.length, bytes };
  const out: Inventory = {};
  let n = 0;
  bytes = 2;
  for (const k of keys.sort()) {
    const b = entryBytes(k, inv[k]);
    if (n >= maxKeys || bytes + b > maxBytes) break;
    out[k] = inv[k]!;
    bytes += b;
    n++;
  }
  return { data: out, truncated: true, keys: n, bytes };
}

/** Returns the new held inventory (null: unchanged) and how the report was applied. */
export function applyInventory(held: HeldInventory | null, r: InventoryReport, maxKeys: number, maxBytes: number): { next: HeldInventory | null; mode: InventoryMode } {
  if (r.mode === 'full') {
    const c = capped({ ...r.data }, maxKeys, maxBytes);
    return { next: { ...c, hash: r.hash ?? null }, mode: c.truncated ? 'truncated' : 'full' };
  }
  const heldHash = held?.hash ?? null;
  if (r.hash !== undefined && r.hash === heldHash) return { next: null, mode: 'duplicate' };
  if (r.base !== undefined && r.base !== heldHash) return { next: null, mode: 'wrong-base' };
  const inv: Inventory = { ...(held?.data ?? {}) };
  for (const k of r.unset) delete inv[k];
  Object.assign(inv, r.set);
  // A truncated copy cannot reproduce the node's hash; its base check above is all we can do.
  const wasTruncated = held?.truncated ?? false;
  if (!wasTruncated && r.hash !== undefined && hashFlat(inv) !== r.hash) return { next: null, mode: 'wrong-base' };
  const c = capped(inv, maxKeys, maxBytes);
  const truncated = c.truncated || wasTruncated;
  return { next: { ...c, truncated, hash: r.hash ?? null }, mode: truncated ? 'truncated' : 'diff' };
}
