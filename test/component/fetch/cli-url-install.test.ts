// `outpost install URL`: the real CLI streams an http bundle into the slot with "download now"
// semantics (closed download and install windows do not hold an operator on site), is killed
// mid-download like a power cut, and `outpost install --resume` continues with one Range request
// from the journal's durable block record (the journal's origin is the URL).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { startFlakyServer } from '../../support/flaky-http-server.ts';

const BLOCK = 64 * 1024;
const kit = await makeKit({ imageSize: 8 << 20, blockSize: BLOCK });
const node = await TestNode.create({ kit, slotSize: 16 << 20, checkpointBytes: 256 << 10, healthChecks: [['/bin/true']] });
const bundle = await readFile(kit.bundle);
const server = await startFlakyServer({ body: bundle });
after(async () => {
  await server.close();
  await node.dispose();
  await kit.dispose();
});

// Windows that are closed now (1 January, 00:00 for one minute); throttled so the kill lands mid-download.
const never = { cron: '0 0 1 1 *', durationMinutes: 1, timezone: 'UTC' };
const config = JSON.parse(await readFile(node.configPath, 'utf8'));
config.fetch = { maxBytesPerSecond: 4 << 20, retryBaseMs: 10, retryCapMs: 100, windows: [never], installWindows: [never] };
await writeFile(node.configPath, JSON.stringify(config));

test('install URL downloads now, is killed mid-download, --resume continues by Range, reboots and commits', { timeout: 240_000 }, async () => {
  const first = await node.cli(['install', server.url], { when: (l) => /^written [3-9]0%/.test(l), delayMs: 0 });
  assert.equal(first.killed, true, `the install finished before the kill: ${first.stdout}${first.stderr}`);
  const j = await node.journal();
  assert.equal(j?.state, 'writing');
  assert.equal(j?.origin, server.url, 'the journal names the URL, so --resume can rebuild the source');
  assert.match(j!.id, /^i-\d{14}-[0-9a-f]{6}$/);
  const resumeBlock = j!.progress!.nextBlock;
  assert.ok(resumeBlock > 0, 'some blocks were durably recorded before the kill');
  const before = server.requests.length;

  const second = await node.cli(['install', '--resume']);
  assert.equal(second.code, 0, second.stderr);
  // Closed install windows do not hold the CLI: it arms and asks for the reboot at once.
  assert.match(second.stdout, /state: writing[\s\S]*state: verifying[\s\S]*state: awaiting_install_window[\s\S]*state: arming[\s\S]*reboot requested/);
  const resumed = server.requests.slice(before);
  assert.equal(resumed.length, 1, 'one request for the rest of the bundle');
  assert.match(resumed[0]!.range ?? '', /^bytes=[1-9]\d*-/, 'a Range request, not from zero');

  assert.equal(await node.reboot(), 'B');
  const third = await node.cli(['install', '--resume']);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /committed/);
  assert.equal(await node.holds('B'), 'new');
});

test('install with a URL the CLI cannot fetch fails with a code and leaves the running slot alone', { timeout: 240_000 }, async () => {
  const r = await node.cli(['install', 'http://127.0.0.1:9/missing.bundle']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^E_[A-Z_]+:/m);
  assert.equal(await node.booted(), 'B');
  assert.equal(await node.holds('A'), 'old', 'the fallback slot was never touched: the bundle head never arrived');
});
