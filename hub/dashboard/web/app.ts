// The dashboard's entry: sign-in (a form, or a #token=… link), a hash router (#fleet, #map,
// #rollouts, #node/FP) and the live feed. A change event refreshes what is on screen at most every
// REFRESH_MS, and never while the operator is typing into a form.
import './style.css';
import { api, follow, token, whenSignedOut, ApiFailure } from './api.ts';
import { h } from './dom.ts';
import { renderFleet, renderSummary } from './fleet.ts';
import { renderNode } from './node.ts';
import { renderMap, leaveMap } from './map.ts';
import { renderRollouts } from './rollouts.ts';

const REFRESH_MS = 2000;
let settings: { operator: string; tiles: string | null; tilesAttribution: string } | null = null;
let liveAbort: AbortController | null = null;
/** A refused token signs the page out only once it was in (at sign-in the form shows the error). */
let signedIn = false;

const $ = (id: string) => document.getElementById(id)!;

function open(fp: string): void {
  location.hash = `#node/${fp}`;
}

/** The render in progress, and whether another was asked for meanwhile. */
let rendering: Promise<void> | null = null;
let again = false;

/**
 * Renders the current route. Renders never overlap: one asked for while another runs (a live
 * event, a click) runs once after it, so a slow hub cannot pile up fetches and half-built views.
 */
function render(): Promise<void> {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = (async () => {
    do {
      again = false;
      await renderOnce();
    } while (again);
  })().finally(() => { rendering = null; });
  return rendering;
}

async function renderOnce(): Promise<void> {
  const main = $('view');
  const route = location.hash.slice(1) || 'fleet';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.getAttribute('href') === `#${route.split('/')[0]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (!route.startsWith('map')) leaveMap();
    const summary = renderSummary($('summary'));
    if (route.startsWith('node/')) await renderNode(main, route.slice(5));
    else if (route === 'map') await renderMap(main, settings!, open);
    else if (route === 'rollouts') await renderRollouts(main);
    else await renderFleet(main, open);
    await summary;
    main.setAttribute('data-rendered', String(Date.now()));
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) return;
    main.replaceChildren(h('p', { role: 'alert', class: 'error' }, e instanceof Error ? e.message : String(e)));
  }
}

let pending: ReturnType<typeof setTimeout> | null = null;
let lastRefresh = 0;
function refreshSoon(): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    const busy = document.activeElement?.closest('form') && document.activeElement.matches('input, select, textarea');
    if (busy || location.hash.startsWith('#map')) return;
    lastRefresh = Date.now();
    void render();
  }, Math.max(0, lastRefresh + REFRESH_MS - Date.now()));
}

function showApp(): void {
  signedIn = true;
  $('nav').hidden = false;
  $('main').replaceChildren(h('section', { id: 'summary', 'aria-label': 'Fleet counts', class: 'summary' }), h('div', { id: 'view' }));
  liveAbort = new AbortController();
  follow(refreshSoon, (s) => { $('live').textContent = `Updates: ${s}`; }, liveAbort.signal);
  void render();
}

function signOut(message = ''): void {
  token.clear();
  liveAbort?.abort();
  location.reload();
  if (message) console.warn(message);
}

async function signIn(t: string): Promise<void> {
  token.set(t);
  settings = await api('/admin/dashboard/config');
  showApp();
}

window.addEventListener('hashchange', () => void render());
window.addEventListener('DOMContentLoaded', () => {
  whenSignedOut(() => {
    if (signedIn) signOut('the token was refused');
  });
  $('signout').addEventListener('click', () => signOut());
  const form = $('login') as HTMLFormElement;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = (form.elements.namedItem('token') as HTMLInputElement).value.trim();
    try {
      await signIn(t);
    } catch (x) {
      token.clear();
      $('login-error').textContent = x instanceof ApiFailure ? `${x.code}: ${x.message}` : String(x);
    }
  });
  // A link with the token in its fragment (`npm start` prints one): a fragment never reaches a
  // server or its log, and it leaves the address bar and the history at once.
  const linked = /^#token=([^&]+)/.exec(location.hash);
  if (linked) {
    token.set(decodeURIComponent(linked[1]!));
    history.replaceState(null, '', `${location.pathname}${location.search}#fleet`);
  }
  if (token.get()) {
    signIn(token.get()!).catch((x) => {
      token.clear();
      $('login-error').textContent = x instanceof ApiFailure ? `${x.code}: ${x.message}` : String(x);
    });
  }
});
