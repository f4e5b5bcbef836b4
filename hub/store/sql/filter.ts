// NodeFilter → a WHERE clause over `nodes n`. Labels and compatible strings are matched through
// node_tags (indexed), a bbox through the last reported lat/lon.
import { OutpostError } from '../../../shared/errors.ts';
import type { Param } from './db.ts';
import type { NodeFilter, Page } from '../records.ts';

export const MAX_FILTER_IDS = 5_000;
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1_000;

export function whereOf(f: NodeFilter = {}): { sql: string; params: Param[] } {
  const parts: string[] = [];
  const params: Param[] = [];
  const eq = (col: string, v: Param | undefined) => {
    if (v === undefined) return;
    parts.push(`${col} = ?`);
    params.push(v);
  };
  const tag = (kind: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(`EXISTS (SELECT 1 FROM node_tags t WHERE t.node_id = n.id AND t.kind = '${kind}' AND t.value = ?)`);
    params.push(v);
  };
  eq('n.status', f.status);
  if (f.idPrefix !== undefined) {
    if (!/^[0-9a-f]{1,64}$/i.test(f.idPrefix)) throw new OutpostError('E_STORE_FILTER', 'idPrefix: hex digits');
    parts.push('n.id LIKE ?');
    params.push(`${f.idPrefix.toLowerCase()}%`);
  }
  eq('n.device_id', f.deviceId);
  eq('n.grp', f.group);
  tag('label', f.label);
  tag('compatible', f.compatible);
  eq('n.site_id', f.siteId);
  eq('n.site_name', f.siteName);
  eq('n.region', f.region);
  if (f.bbox) {
    const b = f.bbox;
    if (![b.minLat, b.maxLat, b.minLon, b.maxLon].every(Number.isFinite)) throw new OutpostError('E_STORE_FILTER', 'bbox: four numbers');
    parts.push('n.lat >= ? AND n.lat <= ? AND n.lon >= ? AND n.lon <= ?');
    params.push(b.minLat, b.maxLat, b.minLon, b.maxLon);
  }
  eq('n.run_version', f.version);
  eq('n.run_release', f.release);
  if (f.releaseBelow !== undefined) {
    // A node that never said what it runs may need the update too.
    parts.push('(n.run_release IS NULL OR n.run_release < ?)');
    params.push(f.releaseBelow);
  }
  eq('n.health', f.health);
  if (f.connected !== undefined) parts.push(f.connected ? 'n.connected_via IS NOT NULL' : 'n.connected_via IS NULL');
  if (f.lastSeenBefore !== undefined) {
    parts.push('n.last_seen < ?');
    params.push(f.lastSeenBefore);
  }
  if (f.lastSeenAfter !== undefined) {
    parts.push('n.last_seen > ?');
    params.push(f.lastSeenAfter);
  }
  if (f.ids !== undefined) {
    if (f.ids.length > MAX_FILTER_IDS) throw new OutpostError('E_STORE_FILTER', `ids: at most ${MAX_FILTER_IDS}`);
    if (f.ids.length === 0) parts.push('1 = 0');
    else {
      parts.push(`n.id IN (${f.ids.map(() => '?').join(', ')})`);
      params.push(...f.ids);
    }
  }
  return { sql: parts.length ? parts.join(' AND ') : '1 = 1', params };
}

export function limitOf(page: { limit?: number } | undefined, max = MAX_PAGE): number {
  const l = page?.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(l) || l < 1) throw new OutpostError('E_STORE_FILTER', 'limit: a positive integer');
  return Math.min(l, max);
}

export function afterOf(page: Page | undefined): string | undefined {
  return page?.after;
}
