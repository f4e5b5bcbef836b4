// Map view: every located node as a dot coloured by health or by release, "moved" nodes ringed
// and listed. Tiles come from the hub's setting; with none (or no internet, as in tests) the dots
// still show on a blank map. Above a few thousand dots Leaflet draws on a canvas; one tooltip and
// one click handler serve every dot (not 10,000 of each).
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { api } from './api.ts';
import { h } from './dom.ts';

type Point = [string, number, number, string, number | null, 0 | 1, 0 | 1, string];
interface Settings { tiles: string | null; tilesAttribution: string }

const HEALTH: Record<string, string> = { ok: '#1a7f37', updating: '#9a6700', failing: '#cf222e' };
const PALETTE = ['#0969da', '#8250df', '#bf3989', '#1a7f37', '#9a6700', '#cf222e', '#57606a', '#0550ae'];

let map: L.Map | null = null;
let colourBy: 'health' | 'release' = 'health';

function colourOf(p: Point, releases: Map<number | null, string>): string {
  if (colourBy === 'health') return HEALTH[p[3]] ?? '#57606a';
  return releases.get(p[4]) ?? '#57606a';
}

/** The hub's tab-separated lines (see hub/dashboard/routes.ts) as points. */
function parse(text: string): Point[] {
  if (!text) return [];
  return text.split('\n').map((line) => {
    const f = line.split('\t');
    return [f[0]!, Number(f[1]), Number(f[2]), f[3]!, f[4] ? Number(f[4]) : null, f[5] === '1' ? 1 : 0, f[6] === '1' ? 1 : 0, f[7] ?? ''];
  });
}

const describe = (p: Point) => `${p[7]} — ${p[3]}, ${p[4] === null ? 'release unknown' : `release ${p[4]}`}${p[5] ? ', moved' : ''}${p[6] ? '' : ', offline'}`;

export async function renderMap(main: HTMLElement, settings: Settings, open: (fp: string) => void): Promise<void> {
  const raw = await api<{ total: number; located: number; points: string }>('/admin/dashboard/map');
  const data = { ...raw, points: parse(raw.points) };
  map?.remove();
  const releaseList = [...new Set(data.points.map((p) => p[4]))].sort((a, b) => (a ?? -1) - (b ?? -1));
  const releases = new Map(releaseList.map((r, i) => [r, PALETTE[i % PALETTE.length]!]));
  const moved = data.points.filter((p) => p[5]);
  const select = h('select', { id: 'colour-by', onchange: (e: Event) => {
    colourBy = (e.target as HTMLSelectElement).value as typeof colourBy;
    void renderMap(main, settings, open);
  } }, h('option', { value: 'health', selected: colourBy === 'health' }, 'health'), h('option', { value: 'release', selected: colourBy === 'release' }, 'release'));
  const legend = colourBy === 'health'
    ? Object.entries(HEALTH).map(([k, c]) => h('li', {}, h('span', { class: 'swatch', style: `background:${c}` }), ` ${k}`))
    : releaseList.map((r) => h('li', {}, h('span', { class: 'swatch', style: `background:${releases.get(r)}` }), ` ${r === null ? 'unknown' : `release ${r}`}`));
  const el = h('div', { id: 'map', role: 'region', 'aria-label': 'Map of the nodes\' sites' });
  main.replaceChildren(
    h('h2', {}, 'Map'),
    h('p', {}, h('label', { for: 'colour-by' }, 'Colour by '), select, ` — ${data.located} of ${data.total} nodes have a location; ${moved.length} moved.`),
    h('ul', { class: 'legend' }, legend, h('li', {}, h('span', { class: 'swatch moved' }), ' moved from its site')),
    el,
    h('h3', {}, 'Moved nodes'),
    moved.length ? h('ul', { class: 'moved-list' }, moved.slice(0, 200).map((p) => h('li', {},
      h('a', { href: `#node/${p[0]}`, onclick: (e: Event) => { e.preventDefault(); open(p[0]); } }, p[7]), ` at ${p[1].toFixed(4)}, ${p[2].toFixed(4)}`))) : h('p', {}, 'None.'),
  );
  map = L.map(el, { preferCanvas: data.points.length > 2000, zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.tilesAttribution, maxZoom: 19 }).addTo(map);
  const layer = L.featureGroup();
  const pointOf = new Map<L.Layer, Point>();
  for (const p of data.points) {
    const m = L.circleMarker([p[1], p[2]], {
      radius: p[5] ? 9 : 6, color: p[5] ? '#000' : colourOf(p, releases), weight: p[5] ? 3 : 1,
      dashArray: p[5] ? '3 3' : undefined, fillColor: colourOf(p, releases), fillOpacity: 0.85,
    });
    pointOf.set(m, p);
    layer.addLayer(m);
  }
  // Bound to the group: Leaflet opens it on the dot under the pointer, asking for its text then.
  layer.bindTooltip((l) => { const p = pointOf.get(l); return p ? describe(p) : ''; });
  layer.on('click', (e) => { const p = pointOf.get(e.propagatedFrom as L.Layer); if (p) open(p[0]); });
  layer.addTo(map);
  if (data.points.length) map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 12 });
  else map.setView([20, 0], 2);
}

export function leaveMap(): void {
  map?.remove();
  map = null;
}
