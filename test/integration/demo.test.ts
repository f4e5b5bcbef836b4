// `npm start` end to end: the demo script as a child process, exactly as a newcomer runs it.
// Asserts the exit code, the story's key lines in order, the hub's view, and that nothing is
// left behind (temp directory, agent or hub processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

const DEMO = resolve(import.meta.dirname, '../../scripts/demo.ts');

interface DemoRun {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the demo; `interrupt` sends SIGINT (Ctrl-C) once a stdout line matches it. */
function runDemo(args: string[], limitMs: number, interrupt?: RegExp): Promise<DemoRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
      if (interrupt?.test(out)) {
        interrupt = undefined;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b));
    // SIGTERM lets the demo clean up its children; the assertion below then fails on the code.
    const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out, err });
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

// Generous: on a busy machine (load ~7 on 2 cores and more) the hub alone took over a minute to start.
test('npm start: the whole story, exit 0, hub view printed, nothing left behind', { timeout: 300_000 }, async () => {
  const r = await runDemo(['--timeout', '280'], 290_000);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 0, `demo failed:\n${r.out}\n${r.err}\nagent log (tail):\n${await logTail(dir)}`);
    await assertStory(r.out);
    assert.ok(await gone(dir), 'temp directory removed');
    assert.deepEqual(await processesUsing(dir), [], 'no hub or agent process left');
  } finally {
    await rm(dir, { recursive: true, force: true }); // kept by the demo only when it failed
  }
});

/** The demo's agent log, last lines without debug noise, for a failure message. */
async function logTail(dir: string): Promise<string> {
  const text = await readFile(`${dir}/agent.log`, 'utf8').catch(() => '(no agent.log)');
  return text.split('\n').filter((l) => !l.includes('"level":"debug"')).slice(-30).join('\n');
}

async function assertStory(out: string): Promise<void> {
  const story = [
    /hub: new node gw-berlin-01, key fingerprint [0-9a-f]{16}…, status pending/,
    /operator: `hub-ctl accept`/,
    /node: connected to the hub and authenticated/,
    /hub: inventory received \(\d+ facts\), e\.g\. .*custom\.rootfs\.version=1\.0/,
    /hub: location 52\.51627, 13\.37770/,
    /== 4\. Release 2\.0/,
    /node: outside its download windows: the download waits/,
    /operator: pushes a download window to the node \(config\.push/,
    /node: pushed settings stored and applied: 1 download window/,
    /hub: downloaded and written 3\.0 MiB of 3\.0 MiB \(100%\)/,
    /bootloader \(.*\): boot order "B A" → starts slot B/,
    /node: health check "app-selftest" passed/,
    /node: health check "[^"]*hub[^"]*" passed/,
    /node: committed: slot B \(version 2\.0\)/,
    /hub: outcome of demo-2-0: success/,
    /== 5\. Release 2\.1/,
    /bootloader \(.*\): boot order "A B" → starts slot A/,
    /node: health check "app-selftest" FAILED: .*self-test of version 2\.1 on slot A: fail/,
    /bootloader \(.*\): boot order "B" → starts slot B/,
    /node: rolled back: running slot B again/,
    /hub: outcome of demo-2-1: rolled-back \(E_HEALTH_CHECK/,
    /slot B \[rootfs\] 2\.0 \(release 2\): booted, primary, good/,
    /== 6\. The hub's view of the node/,
    /node\s+gw-berlin-01 \(key [0-9a-f]{16}…\), accepted/,
    /running\s+version 2\.0 on slot B/,
    /last deployment\s+demo-2-1: .*outcome rolled-back \(E_HEALTH_CHECK\)/,
    /location\s+52\.51627, 13\.37770/,
  ];
  let at = 0;
  for (const want of story) {
    const m = want.exec(out.slice(at));
    assert.ok(m, `expected ${want} after offset ${at} in:\n${out}`);
    at += m.index + m[0].length;
  }
  assert.doesNotMatch(out, /^\s*[[{]"/m, 'plain words, no JSON dumps');
}

test('npm start: a failure exits 1 with a clear message, logs kept, children stopped', { timeout: 30_000 }, async () => {
  // One second is too short for the node to reach the hub: the demo must say so and clean up.
  const r = await runDemo(['--timeout', '1'], 25_000);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 1);
    assert.match(r.err, /DEMO FAILED: timed out while (waiting for|running) /);
    assert.match(r.err, new RegExp(`agent log: ${dir}/agent\\.log`));
    assert.ok(!(await gone(dir)), 'the temp directory with the logs is kept for reading');
    assert.deepEqual(await processesUsing(dir), [], 'no hub or agent process left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('npm start: Ctrl-C while the agent runs stops it and the hub, exit 1', { timeout: 60_000 }, async () => {
  const r = await runDemo(['--timeout', '50'], 55_000, /node: connected to the hub and authenticated/);
  const dir = tempDirOf(r.out);
  try {
    assert.equal(r.code, 1, `${r.out}\n${r.err}`);
    assert.match(r.err, /DEMO FAILED: stopped by SIGINT/);
    assert.deepEqual(await processesUsing(dir), [], 'the detached agent and the hub are stopped too');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
