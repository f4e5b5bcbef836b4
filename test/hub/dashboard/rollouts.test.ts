// Rollouts in the web dashboard, in a real headless Chromium against a hub in this process: start
// a rollout from the form, watch its first wave go through waiting for window → downloading →
// installed → committed as simulated nodes report, pause and resume it with the buttons, and see a
// release that fails on one node and rolls back on another stop itself in its first wave, saying
// why; then abort it. The nodes are moved one step at a time by the test, and every check waits on
// what the page shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { startTestHub, testBundle, type TestHub } from '../../support/hub-in-process.ts';
import { TEST_COMPATIBLE } from '../../support/bundle-fixtures.ts';
import { addRolloutFleet, type RolloutFleet } from './rollout-fleet.ts';
import { launch, step } from './browser.ts';

const WAIT = { timeout: 240_000 };
const NODES = 10;
let dir: string;
let t: TestHub;
let token: string;
let browser: Browser;
let page: Page;
let fleet: RolloutFleet;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-dash-rollouts-'));
  await mkdir(join(dir, 'bundles'));
  await testBundle(join(dir, 'bundles', 'rootfs-2.0.bundle'), { version: '2.0', release: 2, seed: 2 });
  await testBundle(join(dir, 'bundles', 'rootfs-2.1.bundle'), { version: '2.1', release: 3, seed: 3 });
  t = await startTestHub(dir, { dashboard: { tiles: null } });
  token = (await t.hub.store.createToken('ops', Date.now())).token;
  fleet = await addRolloutFleet(t.hub.ctx, NODES, TEST_COMPATIBLE);
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => void d.accept()); // the Abort button asks first
  await page.goto(`${t.hub.apiUrl}/`);
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Updates: live').waitFor(WAIT);
});

after(async () => {
  await browser?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

/** Starts a rollout from the dashboard's form; returns its card. */
async function startRollout(name: string, bundle: string, waves: string): Promise<Locator> {
  await page.getByRole('link', { name: 'Rollouts' }).click();
  const form = page.getByRole('form', { name: 'Start a rollout' });
  await form.waitFor(WAIT);
  await form.getByLabel('Bundle').selectOption(bundle);
  await form.getByLabel('Waves').fill(waves);
  await form.getByLabel('Pause after failures').fill('0');
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Start rollout' }).click();
  const card = page.locator('article.rollout', { has: page.getByRole('heading', { name: new RegExp(`^${name} — `) }) });
  await card.waitFor(WAIT);
  return card;
}

/** Waits until wave `n`'s bar says exactly `text` (its accessible name lists the states in bar order). */
async function waveSays(card: Locator, n: number, text: string): Promise<void> {
  await card.getByRole('img', { name: `Wave ${n}: ${text}`, exact: true }).waitFor(WAIT);
}

test('a rollout started from the form: its first wave progresses; pause and resume work; it completes', async () => {
  await step(page, 'rollout-progress', async () => {
    for (const n of fleet.nodes) n.windowClosed = true; // they accept the offer and wait
    const card = await startRollout('good', 'rootfs-2.0.bundle', '2, 100%');
    await card.locator('.status', { hasText: 'running' }).waitFor(WAIT);
    await waveSays(card, 2, `${NODES - 2} queued`);
    await fleet.step(); // the two offers of wave 1 are accepted
    await waveSays(card, 1, '2 waiting for window');
    for (const n of fleet.nodes) n.windowClosed = false;
    await fleet.step();
    await waveSays(card, 1, '2 downloading');
    await fleet.step();
    await waveSays(card, 1, '2 installed');
    await fleet.step();
    await waveSays(card, 1, '2 committed');
    // Wave 1 succeeded: the driver opens wave 2 and offers it to the other nodes.
    for (const n of fleet.nodes) n.windowClosed = true;
    await card.getByText(`wave 2 of 2 · ${NODES} offered`).waitFor(WAIT);
    await fleet.step();
    await waveSays(card, 2, `${NODES - 2} waiting for window`);

    await card.getByRole('button', { name: 'Pause' }).click();
    await card.locator('.status', { hasText: 'paused' }).waitFor(WAIT);
    await card.getByText('Why: paused by the operator: pause from the dashboard').waitFor(WAIT);
    assert.equal(await card.getByRole('button', { name: 'Pause' }).count(), 0, 'a paused rollout offers Resume, not Pause');
    await card.getByRole('button', { name: 'Resume' }).click();
    await card.locator('.status', { hasText: 'running' }).waitFor(WAIT);
    assert.equal(await card.locator('.reason').count(), 0, 'no reason shown once it runs again');

    for (const n of fleet.nodes) n.windowClosed = false;
    for (let i = 0; i < 3; i++) await fleet.step();
    await waveSays(card, 2, `${NODES - 2} committed`);
    await card.locator('.status', { hasText: 'completed' }).waitFor(WAIT);
    assert.equal(await card.getByRole('button').count(), 0, 'a finished rollout has no buttons');
  });
});

test('a release that fails and rolls back stops its rollout in the first wave, says why, and can be aborted', async () => {
  await step(page, 'rollout-failing', async () => {
    for (const n of fleet.nodes) Object.assign(n, { failing: true, windowClosed: false }); // every health check fails after the install
    const card = await startRollout('bad', 'rootfs-2.1.bundle', '2, 100%');
    const id = (await card.getAttribute('data-rollout'))!;
    await fleet.step(); // wave 1 accepts and starts writing
    const [first] = fleet.nodes.filter((n) => n.progress.has(id));
    await fleet.fail(first!, id, 'E_INSTALL_WRITE', 'slot write failed'); // one fails outright, the other rolls back
    for (let i = 0; i < 2; i++) await fleet.step();
    await waveSays(card, 1, '1 failed, 1 rolled back');
    await card.locator('.status', { hasText: 'paused' }).waitFor(WAIT);
    const why = await card.locator('.reason').innerText();
    assert.match(why, /^Why: /);
    assert.match(why, /E_HEALTH_CHECK|E_INSTALL_WRITE/, why);
    await card.locator('details summary', { hasText: 'Failures (2)' }).click();
    await card.getByText(/\(wave 1\): E_HEALTH_CHECK app-selftest failed/).waitFor(WAIT);
    await card.getByText(/\(wave 1\): E_INSTALL_WRITE slot write failed/).waitFor(WAIT);
    // Later waves never received the release.
    await waveSays(card, 2, `${NODES - 2} queued`);
    const offered = fleet.nodes.filter((n) => n.progress.size === 2).length;
    assert.equal(offered, 2, 'only the first wave got the failing release');

    await card.getByRole('button', { name: 'Abort' }).click();
    await card.locator('.status', { hasText: 'aborted' }).waitFor(WAIT);
    await waveSays(card, 2, `${NODES - 2} cancelled`);
  });
});
