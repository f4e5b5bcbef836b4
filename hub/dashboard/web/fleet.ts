// Fleet view: counts per release and state at the top, then one sorted, filtered page of the
// node table (the hub sorts and pages; the page never holds the whole fleet).
import { api } from './api.ts';
import { h, ago } from './dom.ts';

interface Count { key: string | number | boolean | null; count: number }
interface Summary { status: Count[]; release: Count[]; health: Count[]; connected: Count[] }
export interface NodeLine {
  fingerprint: string; deviceId: string; name: string | null; status: string; online: boolean; group: string | null;
  running: { version: string; release: number; slot: string } | null; site: { id?: string; name?: string } | null;
  compatible: string[]; health: string; lastSeen: number; ackedSeq: number;
}

const FILTERS: Array<[string, string, string[] | null]> = [
  ['release', 'Release', null], ['compatible', 'Board (compatible)', null], ['group', 'Group', null], ['site', 'Site id', null],
  ['health', 'Health', ['', 'ok', 'updating', 'failing']], ['status', 'Enrolment', ['', 'accepted', 'pending', 'rejected']],
  ['online', 'Link', ['', 'true', 'false']],
];
const COLUMNS: Array<[string, string]> = [
  ['name', 'Node'], ['status', 'Enrolment'], ['release', 'Release'], ['health', 'Health'], ['group', 'Group'], ['site', 'Site'], ['online', 'Link'], ['lastSeen', 'Last seen'],
];
const PAGE = 50;

export interface FleetState { filters: Record<string, string>; sort: string; dir: 'asc' | 'desc'; offset: number }
export const fleetState: FleetState = { filters: {}, sort: 'name', dir: 'asc', offset: 0 };

function countList(title: string, counts: Count[], label: (k: Count['key']) => string) {
  return h('section', { class: 'counts', 'aria-label': title }, h('h3', {}, title),
    h('ul', {}, counts.map((c) => h('li', {}, h('span', { class: 'k' }, label(c.key)), ' ', h('strong', {}, c.count)))));
}

export async function renderSummary(into: HTMLElement): Promise<void> {
  const s = await api<Summary>('/admin/dashboard/summary');
  into.replaceChildren(
    countList('Per release', s.release, (k) => (k === null ? 'unknown' : `release ${k}`)),
    countList('Per state', s.health, (k) => String(k ?? 'unknown')),
    countList('Enrolments', s.status, (k) => String(k)),
    countList('Link', s.connected, (k) => (k ? 'online' : 'offline')),
  );
}

/** Renders started so far: an answer to an older one (a filter, sort or page since) is dropped. */
let renders = 0;

export async function renderFleet(main: HTMLElement, open: (fp: string) => void): Promise<void> {
  const mine = ++renders;
  const q = new URLSearchParams({ sort: fleetState.sort, dir: fleetState.dir, offset: String(fleetState.offset), limit: String(PAGE) });
  for (const [k, v] of Object.entries(fleetState.filters)) if (v) q.set(k, v);
  const data = await api<{ total: number; offset: number; rows: NodeLine[] }>(`/admin/dashboard/nodes?${q}`);
  if (mine !== renders) return;
  const rerender = () => void renderFleet(main, open);

  const form = h('form', { class: 'filters', 'aria-label': 'Filter nodes' },
    FILTERS.map(([key, label, options]) => h('label', {}, label, ' ', options
      ? h('select', { name: key }, options.map((o) => h('option', { value: o, selected: (fleetState.filters[key] ?? '') === o }, o || 'any')))
      : h('input', { name: key, value: fleetState.filters[key] ?? '', size: 10 }))),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => { fleetState.filters = {}; fleetState.offset = 0; rerender(); } }, 'Clear'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    fleetState.filters = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]));
    fleetState.offset = 0;
    rerender();
  });

  const header = h('tr', {}, COLUMNS.map(([key, label]) => {
    const active = fleetState.sort === key;
    return h('th', { scope: 'col', 'aria-sort': active ? (fleetState.dir === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', class: 'sort', onclick: () => {
        fleetState.dir = active && fleetState.dir === 'asc' ? 'desc' : 'asc';
        fleetState.sort = key;
        rerender();
      } }, label, active ? (fleetState.dir === 'asc' ? ' ▲' : ' ▼') : ''));
  }));
  const rows = data.rows.map((n) => h('tr', { 'data-node': n.fingerprint },
    h('td', {}, h('a', { href: `#node/${n.fingerprint}`, onclick: (e: Event) => { e.preventDefault(); open(n.fingerprint); } }, n.name ?? n.deviceId),
      h('br'), h('code', { class: 'fp' }, n.fingerprint.slice(0, 12))),
    h('td', {}, n.status),
    h('td', {}, n.running ? `${n.running.version} (release ${n.running.release}, slot ${n.running.slot})` : '—'),
    h('td', {}, h('span', { class: `health ${n.health}` }, n.health)),
    h('td', {}, n.group ?? '—'),
    h('td', {}, n.site?.id ?? n.site?.name ?? '—'),
    h('td', {}, n.online ? 'online' : 'offline'),
    h('td', { title: new Date(n.lastSeen).toISOString() }, ago(n.lastSeen))));
  const last = Math.min(data.offset + PAGE, data.total);
  const pager = h('p', { class: 'pager' },
    h('button', { type: 'button', disabled: data.offset === 0, onclick: () => { fleetState.offset = Math.max(0, data.offset - PAGE); rerender(); } }, '← Previous'),
    ` ${data.total ? data.offset + 1 : 0}–${last} of ${data.total} nodes `,
    h('button', { type: 'button', disabled: last >= data.total, onclick: () => { fleetState.offset = data.offset + PAGE; rerender(); } }, 'Next →'));

  main.replaceChildren(h('h2', {}, 'Fleet'), form,
    h('table', { class: 'nodes' }, h('caption', {}, `Nodes (${data.total})`), h('thead', {}, header), h('tbody', {}, rows)), pager);
}
