// `npm start` end to end: the demo script as a child process, exactly as a newcomer runs it.
// Asserts the exit code, the story's key lines in order, the hub's view, the dashboard link (opened in
// Chromium while --serve keeps the hub up) and that nothing is left behind (temp directory, agent
// or hub processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { launch, step } from '../hub/dashboard/browser.ts';

const DEMO = resolve(import.meta.dirname, '../../scripts/demo.ts');

interface DemoRun {
  code: number | null;
  out: string;
  err: string;
  /** What `first` threw, if it did. */
  checkError?: unknown;
}

/**
 * Runs the demo; `interrupt` sends SIGINT (Ctrl-C) once a stdout line matches it, after `first`
 * (a look at what the demo runs at that moment) has finished.
 */
function runDemo(args: string[], limitMs: number, interrupt?: RegExp, first?: (out: string) => Promise<void>): Promise<DemoRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let checkError: unknown;
    child.stdout.on('data', (b: Buffer) => {
      out += b;
      if (interrupt?.test(out)) {
        interrupt = undefined;
        void (first ?? (async () => {}))(out).catch((e: unknown) => { checkError = e; }).finally(() => child.kill('SIGINT'));
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b));
    // SIGTERM lets the demo clean up its children; the assertion below then fails on the code.
    const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out, err, ...(checkError !== undefined ? { checkError } : {}) });
    });
  });
}

/** The demo's temp directory, from its first line. */
function tempDirOf(out: string): string {
  const m = /working directory (\S+) /.exec(out);
  assert.ok(m, `the demo names its working directory:\n${out}`);
  return m[1]!;
}

/** Processes whose command line mentions `dir` (the hub and every agent run there). */
async function processesUsing(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
  }
  return found;
}

const gone = async (p: string) => stat(p).then(() => false, () => true);

test('npm start -- --serve: the whole story, hub view printed, the dashboard link works until Ctrl-C, exit 0, nothing left behind', { timeout: 420_000 }, async () => {
  // Five agents rebooting on a shared CI machine: generous, the demo itself is timed in the docs.
  const r = await runDemo(['--timeout', '300', '--serve'], 400_000, /press Ctrl-C to stop them/, openDashboard);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 0, `demo failed:\n${r.out}\n${r.err}\nagent log (tail):\n${await logTail(dir)}`);
    if (r.checkError !== undefined) throw r.checkError;
    await assertStory(r.out);
    assert.match(r.out, /== 7\. The hub and its dashboard stay up[^]*stopped by SIGINT: stopping the nodes and the hub/);
    assert.ok(await gone(dir), 'temp directory removed');
    assert.deepEqual(await processesUsing(dir), [], 'no hub or agent process left');
  } finally {
    await rm(dir, { recursive: true, force: true }); // kept by the demo only when it failed
  }
});

/** Opens the dashboard link the demo printed, as a newcomer would: the fleet and both rollouts. */
async function openDashboard(out: string): Promise<void> {
  const url = /dashboard: open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+) in a browser/.exec(out)?.[1];
  assert.ok(url, `the demo prints the dashboard link:\n${out}`);
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await step(page, 'demo-dashboard', async () => {
      await page.goto(url);
      await page.locator('table.nodes caption', { hasText: 'Nodes (5)' }).waitFor({ timeout: 240_000 });
      await page.getByRole('link', { name: 'Rollouts' }).click();
      await page.locator('article.rollout', { hasText: 'rollout-2-0' }).locator('.status', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
      await page.locator('article.rollout', { hasText: 'rollout-2-1' }).locator('.status', { hasText: 'aborted' }).waitFor({ timeout: 240_000 });
    });
  } finally {
    await browser.close();
  }
}

/** The demo's agent log, last lines without debug noise, for a failure message. */
async function logTail(dir: string): Promise<string> {
  const text = await readFile(`${dir}/nodes/gw-berlin-01/agent.log`, 'utf8').catch(() => '(no agent.log)');
  return text.split('\n').filter((l) => !l.includes('"level":"debug"')).slice(-30).join('\n');
}

async function assertStory(out: string): Promise<void> {
  const story = [
    /hub: `outpost-hub serve` listening on http:\/\/127\.0\.0\.1:\d+ for agents, operator API on http:\/\/127\.0\.0\.1:\d+/,
    /dashboard: open http:\/\/127\.0\.0\.1:\d+\/#token=opt_[\w-]{43} in a browser/,
    /== 2\. Five nodes/,
    /hub: five new keys, all pending/,
    /operator: `outpost-hub ctl preauthorize <the five fingerprints>`/,
    /gw-berlin-01 +accepted +yes .*1\.0 +1 /,
    /== 4\. Release 2\.0 in waves: 20% → 100%/,
    /hub: rollout-2-0 running, wave 1 \(1\): 1 \w+/,
    /committed: slot B \(version 2\.0\)/,
    /hub: rollout-2-0 running, wave 1 \(1\): 1 committed \| wave 2 \(4\)/,
    /hub: rollout-2-0 completed, wave 1 \(1\): 1 committed \| wave 2 \(4\): 4 committed/,
    /rollout rollout-2-0: COMPLETED, wave 2 of 2/,
    /== 5\. Release 2\.1 in waves/,
    /health check "app-selftest" FAILED: .*self-test of version 2\.1 on slot A: fail/,
    /rolled back: running slot B again/,
    /hub: rollout-2-1 PAUSED by itself: failure threshold passed in wave 1: 1 of 1 nodes offered .*rolled-back \(E_HEALTH_CHECK\)/,
    /hub: 2\.1 reached only gw-berlin-0\d; the other four never received it/,
    /rollout rollout-2-1: ABORTED, wave 1 of 2/,
    /2 \(not yet\) +100% +4 +0 +0 +0 +0 +0 +0 +0 +0 +4 +0/,
    /== 6\. The hub's view of the fleet/,
    /gw-berlin-0\d +accepted +yes .*2\.0 +2 /,
    /rollout-2-0 +completed +2\/2/,
    /demo finished/,
  ];
  // gw-berlin-05 waits for its window in whichever wave the hub put it: before 2.0 completed.
  const done = out.indexOf('hub: rollout-2-0 completed');
  for (const want of [/gw-berlin-05: outside its download windows: the download waits/, /operator: pushes gw-berlin-05 a download window that is open now/]) {
    const m = want.exec(out);
    assert.ok(m && m.index < done, `expected ${want} before rollout-2-0 completed in:\n${out}`);
  }
  let at = 0;
  for (const want of story) {
    const m = want.exec(out.slice(at));
    assert.ok(m, `expected ${want} after offset ${at} in:\n${out}`);
    at += m.index + m[0].length;
  }
  assert.doesNotMatch(out, /^\s*[[{]"/m, 'plain words, no JSON dumps');
}

test('npm start: a failure exits 1 with a clear message, logs kept, children stopped', { timeout: 240_000 }, async () => {
  // One second is too short for the node to reach the hub: the demo must say so and clean up.
  const r = await runDemo(['--timeout', '1'], 25_000);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 1);
    assert.match(r.err, /DEMO FAILED: timed out while (waiting for|running) /);
    assert.match(r.err, new RegExp(`agent logs: ${dir}/nodes/<name>/agent\\.log`));
    assert.ok(!(await gone(dir)), 'the temp directory with the logs is kept for reading');
    assert.deepEqual(await processesUsing(dir), [], 'no hub or agent process left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('npm start: Ctrl-C while the agents run stops them and the hub, exit 1', { timeout: 240_000 }, async () => {
  const r = await runDemo(['--timeout', '100'], 110_000, /nodes: `outpost run` started on all five/);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 1, `${r.out}\n${r.err}`);
    assert.match(r.err, /DEMO FAILED: stopped by SIGINT/);
    assert.deepEqual(await processesUsing(dir), [], 'the detached agent and the hub are stopped too');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
