// One node: identity, what it runs, its inventory, location history, deployments with their logs
// and outcome codes, and how far the hub has acknowledged its outbox.
import { api } from './api.ts';
import { h, ago, when } from './dom.ts';

interface Deployment {
  id: string; rolloutId: string | null; state: string; progress: { phase: string; done: number; total: number } | null;
  outcome: { result: string; code?: string; message?: string; log: string; version?: string } | null; createdAt: number; finishedAt: number | null;
}
interface Detail {
  fingerprint: string; deviceId: string; name: string | null; status: string; online: boolean; group: string | null; labels: string[];
  agentVersion: string; running: { version: string; release: number; slot: string } | null; site: { id?: string; name?: string } | null;
  compatible: string[]; releaseFloor: number | null; health: string; firstSeen: number; lastSeen: number; ackedSeq: number; reports: number;
  inventory: Record<string, unknown> | null; inventoryTruncated: boolean;
  locations: Array<{ lat: number; lon: number; accuracyM?: number; source: string; fixAt: number; moved?: boolean }>;
  deployments: Deployment[]; outstanding: Array<{ id: string; type: string }>;
}

function dl(pairs: Array<[string, unknown]>) {
  return h('dl', {}, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : String(v))]));
}

export async function renderNode(main: HTMLElement, fp: string): Promise<void> {
  const [n] = await api<Detail[]>(`/admin/nodes/${encodeURIComponent(fp)}`);
  if (!n) throw new Error(`no node ${fp}`);
  const inv = n.inventory ? Object.entries(n.inventory).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  main.replaceChildren(
    h('p', {}, h('a', { href: '#fleet' }, '← Fleet')),
    h('h2', {}, n.name ?? n.deviceId),
    dl([
      ['Fingerprint', n.fingerprint], ['Device id (claimed)', n.deviceId], ['Enrolment', n.status], ['Health', n.health],
      ['Running', n.running ? `${n.running.version} (release ${n.running.release}, slot ${n.running.slot})` : null],
      ['Release floor', n.releaseFloor], ['Compatible', n.compatible.join(', ')], ['Group', n.group], ['Labels', n.labels.join(', ')],
      ['Site', n.site ? [n.site.id, n.site.name].filter(Boolean).join(' — ') : null], ['Agent', n.agentVersion],
      ['Link', n.online ? 'online' : 'offline'], ['Last seen', `${ago(n.lastSeen)} (${when(n.lastSeen)})`],
      ['Outbox', `${n.reports} reports stored, acknowledged up to seq ${n.ackedSeq}; ${n.outstanding.length} command(s) waiting for the node`],
    ]),
    h('h3', {}, 'Deployments'),
    n.deployments.length ? h('table', { class: 'deployments' },
      h('thead', {}, h('tr', {}, ['Deployment', 'Rollout', 'State', 'Outcome', 'Code', 'Started', 'Log'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, n.deployments.map((d) => h('tr', {},
        h('td', {}, d.id), h('td', {}, d.rolloutId ?? '—'),
        h('td', {}, d.progress ? `${d.state} (${d.progress.phase} ${d.progress.done}/${d.progress.total})` : d.state),
        h('td', {}, d.outcome?.result ?? '—'), h('td', {}, d.outcome?.code ?? '—'), h('td', {}, when(d.createdAt)),
        h('td', {}, d.outcome?.log ? h('details', {}, h('summary', {}, 'log'), h('pre', {}, d.outcome.log)) : '—'))))) : h('p', {}, 'No deployment yet.'),
    h('h3', {}, 'Location history'),
    n.locations.length ? h('table', { class: 'locations' },
      h('thead', {}, h('tr', {}, ['Fix at', 'Latitude', 'Longitude', 'Accuracy', 'Source', 'Moved'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, n.locations.map((l) => h('tr', { class: l.moved ? 'moved' : '' },
        h('td', {}, when(l.fixAt)), h('td', {}, l.lat.toFixed(5)), h('td', {}, l.lon.toFixed(5)),
        h('td', {}, l.accuracyM === undefined ? '—' : `${l.accuracyM} m`), h('td', {}, l.source), h('td', {}, l.moved ? 'moved' : ''))))) : h('p', {}, 'No location reported.'),
    h('h3', {}, `Inventory${n.inventoryTruncated ? ' (truncated by the hub\'s cap)' : ''}`),
    inv.length ? h('table', { class: 'inventory' }, h('tbody', {}, inv.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(v)))))) : h('p', {}, 'No inventory yet.'),
  );
}
