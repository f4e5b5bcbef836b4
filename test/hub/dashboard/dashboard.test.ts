// The web dashboard in a real headless Chromium against a hub in this process: sign in with a
// token, a simulated fleet in the table, filter it, open a node, the map with its markers and no
// tiles (no internet here), and the refusals that keep the fleet's data behind a token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../support/hub-in-process.ts';
import { addFleet, addPending, type FleetNode } from './fleet.ts';
import { launch, step } from './browser.ts';

const WAIT = { timeout: 240_000 };
let dir: string;
let t: TestHub;
let token: string;
let browser: Browser;
let page: Page;
let fleet: FleetNode[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-dash-'));
  await mkdir(join(dir, 'bundles'));
  t = await startTestHub(dir, { dashboard: { tiles: null } });
  token = (await t.hub.store.createToken('ops', Date.now())).token;
  fleet = await addFleet(t.hub.store, 60, { hubId: t.hub.ctx.hubId, movedEvery: 20 });
  await addPending(t.hub.store, 'stranger-01');
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await browser?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

test('a wrong token is refused; the right one shows the fleet with its counts', async () => {
  await step(page, 'sign-in', async () => {
    await page.goto(`${t.hub.apiUrl}/`);
    await page.getByLabel('Operator token').fill('not-a-token-of-this-hub-0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('E_API_AUTH').waitFor(WAIT);
    await page.getByLabel('Operator token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.nodes caption', { hasText: 'Nodes (61)' }).waitFor(WAIT);
    assert.equal(await page.locator('table.nodes tbody tr').count(), 50, 'one page of 50 rows');
    const counts = await page.locator('#summary').innerText();
    assert.match(counts, /release 1\s+60/);
    assert.match(counts, /pending\s+1/);
    await page.getByText('Updates: live').waitFor(WAIT);
  });
});

test('filters and sorting narrow the table; a pending enrolment can be found', async () => {
  await step(page, 'filter', async () => {
    await page.getByLabel('Site id').fill('HAM-02');
    await page.getByLabel('Group').fill('east');
    await page.getByRole('button', { name: 'Filter' }).click();
    // 60 nodes over 4 sites and 2 groups: HAM-02 holds i%4==1, all odd → all east.
    await page.locator('table.nodes caption', { hasText: 'Nodes (15)' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Clear' }).click();
    // Clear re-reads the table and replaces the form: choose in the new one, not the old.
    await page.locator('table.nodes caption', { hasText: 'Nodes (61)' }).waitFor(WAIT);
    await page.locator('form.filters select[name=status]').selectOption('pending');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('table.nodes caption', { hasText: 'Nodes (1)' }).waitFor(WAIT);
    assert.match(await page.locator('table.nodes tbody').innerText(), /stranger-01/);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('table.nodes caption', { hasText: 'Nodes (61)' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Node' }).click(); // already ascending: now descending
    await page.locator('th[aria-sort="descending"]').waitFor(WAIT);
    const first = await page.locator('table.nodes tbody tr').first().innerText();
    assert.match(first, /stranger-01/, 'descending by name puts s… first');
  });
});

test('a node opens with its location history, and the keyboard reaches it', async () => {
  const n = fleet[3]!;
  await step(page, 'node', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator('table.nodes caption', { hasText: 'Nodes (61)' }).waitFor(WAIT);
    // The click draws the table again, and the caption of the table before (also 61 nodes) may
    // match first: a link focused there is gone once the new table replaces it, and Enter reaches
    // nothing (seen beside CPU burners). Focus and Enter again until the node opens.
    const link = page.getByRole('link', { name: n.deviceId });
    const heading = page.getByRole('heading', { name: n.deviceId });
    const deadline = Date.now() + WAIT.timeout;
    while (!(await heading.isVisible())) {
      if (Date.now() > deadline) throw new Error(`${n.deviceId} did not open from the keyboard`);
      if (await link.isVisible()) {
        await link.focus();
        await page.keyboard.press('Enter');
      }
      await heading.waitFor({ timeout: 5_000 }).catch(() => {});
    }
    const text = await page.locator('#view').innerText();
    assert.match(text, new RegExp(n.id));
    assert.match(text, /Location history/);
    assert.match(text, /gnss/);
    assert.match(text, /No deployment yet/);
  });
});

test('the map shows every located node without tiles and marks the moved ones', async () => {
  await step(page, 'map', async () => {
    await page.getByRole('link', { name: 'Map' }).click();
    await page.getByText('60 of 61 nodes have a location; 3 moved.').waitFor(WAIT);
    await page.waitForFunction('document.querySelectorAll("#map path.leaflet-interactive").length === 60', null, WAIT);
    assert.equal(await page.locator('#map img.leaflet-tile').count(), 0, 'no tile layer configured');
    assert.equal(await page.locator('.moved-list li').count(), 3);
    // One tooltip and one click handler serve every dot: each still names its own node.
    await page.locator('#map path.leaflet-interactive').last().hover();
    await page.locator('.leaflet-tooltip', { hasText: /-gw-\d{5} — ok, release 1/ }).waitFor(WAIT);
    await page.getByLabel('Colour by').selectOption('release');
    await page.locator('.legend').getByText('release 1').waitFor(WAIT);
    await page.locator('#map path.leaflet-interactive').last().click();
    await page.getByRole('heading', { name: 'Location history' }).waitFor(WAIT);
  });
});

test('without a token every data endpoint is refused; a cross-site form post changes nothing', async () => {
  for (const path of ['/admin/dashboard/summary', '/admin/dashboard/nodes', '/admin/dashboard/map', '/admin/dashboard/config', '/admin/events', '/admin/nodes']) {
    const r = await fetch(`${t.hub.apiUrl}${path}`);
    assert.equal(r.status, 401, path);
    assert.equal(((await r.json()) as { code: string }).code, 'E_API_AUTH');
  }
  // What a foreign page can send without a preflight: a form post, with its own Origin.
  const form = await fetch(`${t.hub.apiUrl}/admin/reject`, {
    method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: `node=${fleet[0]!.id}`,
  });
  assert.equal(form.status, 403);
  // Even with a stolen token a page of another origin is refused.
  const xs = await fetch(`${t.hub.apiUrl}/admin/reject`, {
    method: 'POST', headers: { origin: 'http://evil.example', authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ node: fleet[0]!.id }),
  });
  assert.equal(xs.status, 403);
  assert.equal((await t.hub.store.getNode(fleet[0]!.id))!.status, 'accepted');
  // The page itself is served without a token and pins scripts to its own origin.
  const html = await fetch(`${t.hub.apiUrl}/`);
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self'/);
});

test('a link with the token in its fragment signs in and drops the token from the address', async () => {
  const linked = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await step(linked, 'token-link', async () => {
      await linked.goto(`${t.hub.apiUrl}/#token=${encodeURIComponent(token)}`);
      await linked.locator('table.nodes caption', { hasText: 'Nodes (61)' }).waitFor(WAIT);
      assert.equal(new URL(linked.url()).hash, '#fleet');
      assert.doesNotMatch(linked.url(), /opt_/, 'the token left the address (replaced, so no history entry holds it)');
    });
  } finally {
    await linked.close();
  }
});
