// Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (tests
// run as root), no background networking (this machine has no internet and the tests need none).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of failed steps land here (the build ignores .tmp/). */
export const ARTEFACTS = resolve(import.meta.dirname, '../../../.tmp/test-artifacts');

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Runs `step`; on failure saves a screenshot named after it and rethrows. */
export async function step<T>(page: Page, name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    await mkdir(ARTEFACTS, { recursive: true });
    const file = join(ARTEFACTS, `${name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    (err as Error).message += ` (screenshot: ${file})`;
    throw err;
  }
}
