// Rollouts view: each rollout with its waves as stacked progress bars, why it paused, and the
// pause / resume / abort buttons; a form starts a rollout from a registered bundle and a target.
import { api, ApiFailure } from './api.ts';
import { h, when } from './dom.ts';

interface Summary { id: string; name: string | null; status: string; bundle: string; wave: number; waves: number; reason: string | null; createdAt: number }
interface WaveLine { wave: number; end: string; size: number; opened: boolean; counts: Record<string, number> }
interface View {
  id: string; name: string | null; status: string; reason: string | null; wave: number; waves: number;
  bundle: { bundleId: string; version: string; release: number }; target: Record<string, unknown>;
  offered: number; failures: number; skipped: number; progress: WaveLine[];
  failed: Array<{ node: string; device: string; wave: number; code?: string; message?: string }>;
}
interface Bundle { id: string; version: string; release: number; compatible: string[] }

/** Progress states in bar order, with their labels. */
const PARTS: Array<[string, string]> = [
  ['committed', 'committed'], ['already', 'already on it'], ['installed', 'installed'], ['downloading', 'downloading'],
  ['waiting', 'waiting for window'], ['offered', 'offered'], ['pending', 'offer going out'], ['offline', 'offline'], ['queued', 'queued'],
  ['failed', 'failed'], ['rolled-back', 'rolled back'], ['rejected', 'rejected'], ['timed-out', 'timed out'], ['cancelled', 'cancelled'], ['skipped', 'skipped'],
];

function bar(w: WaveLine) {
  const total = Math.max(1, w.size);
  const known = new Set(PARTS.map(([k]) => k));
  const extra = Object.entries(w.counts).filter(([k, v]) => !known.has(k) && v > 0);
  const parts = [...PARTS.filter(([k]) => (w.counts[k] ?? 0) > 0).map(([k, label]) => [k, label, w.counts[k]!] as const), ...extra.map(([k, v]) => [k, k, v] as const)];
  const text = parts.map(([, label, n]) => `${n} ${label}`).join(', ') || 'empty';
  return h('div', { class: 'wave' },
    h('span', { class: 'wave-label' }, `Wave ${w.wave} (to ${w.end}, ${w.size} nodes${w.opened ? '' : ', not opened'})`),
    h('div', { class: 'bar', role: 'img', 'aria-label': `Wave ${w.wave}: ${text}` },
      parts.map(([k, label, n]) => h('span', { class: `seg ${k}`, style: `width:${(100 * n) / total}%`, title: `${n} ${label}` }))),
    h('span', { class: 'wave-counts' }, text));
}

async function act(id: string, action: 'pause' | 'resume' | 'abort', rerender: () => void, err: HTMLElement) {
  if (action === 'abort' && !confirm(`Abort rollout ${id}? Offers not yet started are cancelled.`)) return;
  try {
    await api(`/admin/rollouts/${encodeURIComponent(id)}/${action}`, { reason: `${action} from the dashboard` });
    rerender();
  } catch (e) {
    err.textContent = e instanceof ApiFailure ? `${e.code}: ${e.message}` : String(e);
  }
}

function rolloutCard(v: View, rerender: () => void) {
  const err = h('p', { role: 'alert', class: 'error' });
  const live = v.status === 'running' || v.status === 'paused';
  return h('article', { class: `rollout ${v.status}`, 'data-rollout': v.id, 'aria-labelledby': `r-${v.id}` },
    h('h3', { id: `r-${v.id}` }, `${v.name ?? v.id} — ${v.bundle.version} (release ${v.bundle.release})`),
    h('p', {}, h('strong', { class: 'status' }, v.status), ` · wave ${Math.max(v.wave, 0)} of ${v.waves} · ${v.offered} offered · ${v.failures} failed · ${v.skipped} skipped · target ${JSON.stringify(v.target)}`),
    v.reason ? h('p', { class: 'reason' }, `Why: ${v.reason}`) : null,
    h('div', { class: 'waves' }, v.progress.map(bar)),
    v.failed.length ? h('details', {}, h('summary', {}, `Failures (${v.failed.length})`),
      h('ul', {}, v.failed.map((f) => h('li', {}, `${f.device} (wave ${f.wave}): ${f.code ?? ''} ${f.message ?? ''}`)))) : null,
    live ? h('p', { class: 'actions' },
      v.status === 'running' ? h('button', { type: 'button', onclick: () => act(v.id, 'pause', rerender, err) }, 'Pause') : null,
      v.status === 'paused' ? h('button', { type: 'button', onclick: () => act(v.id, 'resume', rerender, err) }, 'Resume') : null,
      h('button', { type: 'button', class: 'danger', onclick: () => act(v.id, 'abort', rerender, err) }, 'Abort')) : null,
    err);
}

function createForm(bundles: Bundle[], rerender: () => void) {
  const err = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'create', 'aria-label': 'Start a rollout' },
    h('h3', {}, 'Start a rollout'),
    h('label', {}, 'Bundle ', h('select', { name: 'bundle', required: true }, bundles.map((b) => h('option', { value: b.id }, `${b.id} — ${b.version} (release ${b.release}; ${b.compatible.join(', ')})`)))),
    h('label', {}, 'Target key ', h('select', { name: 'targetKey' }, ['', 'group', 'label', 'compatible', 'siteId', 'region'].map((k) => h('option', { value: k }, k || 'whole fleet')))),
    h('label', {}, 'Target value ', h('input', { name: 'targetValue', size: 12 })),
    h('label', {}, 'Waves ', h('input', { name: 'waves', value: '1%, 10%, 50%, 100%', size: 18 })),
    h('label', {}, 'Pause after failures ', h('input', { name: 'maxFailures', type: 'number', min: 0, value: 0, size: 4 })),
    h('label', {}, 'Name ', h('input', { name: 'name', size: 14 })),
    h('button', { type: 'submit' }, 'Start rollout'), err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const key = String(f.get('targetKey') ?? '');
    const body: Record<string, unknown> = {
      bundle: String(f.get('bundle')),
      waves: String(f.get('waves')).split(',').map((w) => w.trim()).filter(Boolean),
      maxFailures: Number(f.get('maxFailures') ?? 0),
      ...(key ? { target: { [key]: String(f.get('targetValue') ?? '') } } : {}),
      ...(String(f.get('name') ?? '').trim() ? { name: String(f.get('name')).trim() } : {}),
    };
    try {
      await api('/admin/rollouts', body);
      err.textContent = '';
      rerender();
    } catch (x) {
      err.textContent = x instanceof ApiFailure ? `${x.code}: ${x.message}` : String(x);
    }
  });
  return form;
}

export async function renderRollouts(main: HTMLElement): Promise<void> {
  const [list, bundles] = await Promise.all([api<Summary[]>('/admin/rollouts'), api<Bundle[]>('/admin/bundles')]);
  const shown = list.slice(0, 20);
  const views = await Promise.all(shown.map((r) => api<View>(`/admin/rollouts/${encodeURIComponent(r.id)}`)));
  const rerender = () => void renderRollouts(main);
  const parts: Array<HTMLElement | null> = [
    h('h2', {}, 'Rollouts'),
    bundles.length ? createForm(bundles, rerender) : h('p', {}, 'No bundle registered: add one with outpost-hub ctl bundle add.'),
    views.length ? h('div', { class: 'rollouts' }, views.map((v) => rolloutCard(v, rerender))) : h('p', {}, 'No rollout yet.'),
    list.length > shown.length ? h('p', {}, `${list.length - shown.length} older rollouts not shown (${when(list.at(-1)?.createdAt)} and before).`) : null,
  ];
  main.replaceChildren(...parts.filter((x): x is HTMLElement => x !== null));
}
