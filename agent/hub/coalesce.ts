// Pure rules for shrinking a backlog of reports when the outbox is full. Update state, outcomes
// and command results are never touched; telemetry keeps only what the hub still needs.
import type { Inventory, InventoryReport, Report } from '../../shared/protocol/messages.ts';

/** Folds later inventory reports into an earlier one; a full report resets the chain. */
export function mergeInventory(a: InventoryReport, b: InventoryReport): InventoryReport {
  if (b.mode === 'full') return b;
  if (a.mode === 'full') {
    const data: Inventory = { ...a.data };
    for (const k of b.unset) delete data[k];
    Object.assign(data, b.set);
    return stripDiff(b, data);
  }
  const set: Inventory = { ...a.set };
  for (const k of b.unset) delete set[k];
  Object.assign(set, b.set);
  const unset = [...new Set([...a.unset.filter((k) => !(k in b.set)), ...b.unset])];
  // The merged diff goes from the first one's base to the last one's result.
  const hashes = { ...(a.base ? { base: a.base } : {}), ...(b.hash ? { hash: b.hash } : {}) };
  return { v: b.v, type: 'inventory', id: b.id, seq: b.seq, at: b.at, mode: 'diff', ...hashes, set, unset };
}

function stripDiff(b: InventoryReport, data: Inventory): InventoryReport {
  return { v: b.v, type: 'inventory', id: b.id, seq: b.seq, at: b.at, mode: 'full', ...(b.hash ? { hash: b.hash } : {}), data };
}

/** Key under which only the latest report is kept, or null when the report must never be dropped. */
function coalesceKey(r: Report): string | null {
  switch (r.type) {
    case 'location':
      return 'location';
    case 'update.progress':
      return `progress:${r.deploymentId}`;
    case 'inventory':
      return 'inventory';
    default:
      return null;
  }
}

/**
 * Returns the reports to keep, in order. Each coalesced group survives as one report at the
 * position (and seq) of its newest member, so the hub still sees seqs strictly increasing.
 */
export function coalesce(reports: readonly Report[]): Report[] {
  const last = new Map<string, number>();
  reports.forEach((r, i) => {
    const k = coalesceKey(r);
    if (k) last.set(k, i);
  });
  let inv: InventoryReport | null = null;
  const out: Report[] = [];
  reports.forEach((r, i) => {
    const k = coalesceKey(r);
    if (r.type === 'inventory') inv = inv ? mergeInventory(inv, r) : r;
    if (k === null) out.push(r);
    else if (last.get(k) === i) out.push(r.type === 'inventory' ? inv! : r);
  });
  return out;
}

/**
 * Second stage, when coalescing was not enough and the never-drop reports themselves pass the
 * outbox's hard cap (a hub that does not acknowledge while it keeps the node busy): per
 * deployment only its newest update.state and newest update.outcome stay, so the last outcome of
 * every deployment survives; then the oldest command results go until the rest is within
 * `maxCount` reports and `maxBytes` (as measured by `size`).
 */
export function shed(reports: readonly Report[], maxCount: number, maxBytes: number, size: (r: Report) => number): Report[] {
  const newest = new Map<string, number>();
  reports.forEach((r, i) => {
    if (r.type === 'update.state' || r.type === 'update.outcome') newest.set(`${r.type}:${r.deploymentId}`, i);
  });
  const kept = reports.filter((r, i) => (r.type === 'update.state' || r.type === 'update.outcome' ? newest.get(`${r.type}:${r.deploymentId}`) === i : true));
  let count = kept.length;
  let bytes = kept.reduce((n, r) => n + size(r), 0);
  const drop = new Set<number>();
  for (let i = 0; i < kept.length && (count > maxCount || bytes > maxBytes); i++) {
    if (kept[i]!.type !== 'command.result') continue;
    drop.add(i);
    count--;
    bytes -= size(kept[i]!);
  }
  return drop.size === 0 ? kept : kept.filter((_, i) => !drop.has(i));
}
