// Regression: hub commands that cost work are rate limited (before: 20 reboot commands ran the
// reboot command 20 times; 50 refreshes ran the root inventory scripts 50 times).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLimiter, COMMAND_LIMITS, RATE_LIMITS_FILE } from '../../../agent/hub/command-limits.ts';
import { CommandDispatcher } from '../../../agent/hub/commands.ts';
import { CommandLedger } from '../../../agent/hub/command-ledger.ts';
import { Reporter } from '../../../agent/hub/reporter.ts';
import { silentLogger } from '../../../agent/log/logger.ts';
import type { Command, ReportBody } from '../../../shared/protocol/messages.ts';
import { decodeAgentMessage, encodeAgentMessage } from '../../../shared/protocol/index.ts';
import { waitFor } from '../../support/dev-hub.ts';

/** A temp dir removed when the test ends. */
async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cmd-limits-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a bucket allows its burst, then refuses with the seconds until the next token', async (t) => {
  const dir = await scratch(t);
  let now = 1_000_000;
  const l = await CommandLimiter.open(dir, silentLogger(), { now: () => now });
  const { burst, everyS } = COMMAND_LIMITS['config.push'];
  for (let i = 0; i < burst; i++) assert.equal(await l.take('config.push'), 0);
  assert.equal(await l.take('config.push'), everyS);
  now += (everyS - 5) * 1000;
  assert.equal(await l.take('config.push'), 5);
  now += 5000;
  assert.equal(await l.take('config.push'), 0, 'one token back after everyS');
  assert.equal(await l.take('config.push'), everyS);
  now -= 3_600_000; // the clock went back an hour: nothing refills, nothing is stuck for an hour
  assert.equal(await l.take('config.push'), everyS);
});

test('the reboot bucket survives a restart, and a corrupt record starts it empty', async (t) => {
  const dir = await scratch(t);
  let now = 5_000_000;
  const first = await CommandLimiter.open(dir, silentLogger(), { now: () => now });
  assert.equal(await first.take('reboot'), 0);
  now += 60_000;
  const again = await CommandLimiter.open(dir, silentLogger(), { now: () => now });
  assert.equal(await again.take('reboot'), COMMAND_LIMITS.reboot.everyS - 60, 'a restart does not reset the reboot limit');
  now += COMMAND_LIMITS.reboot.everyS * 1000;
  assert.equal(await again.take('reboot'), 0);
  await writeFile(join(dir, RATE_LIMITS_FILE), '{not json');
  const corrupt = await CommandLimiter.open(dir, silentLogger(), { now: () => now });
  assert.equal(await corrupt.take('reboot'), COMMAND_LIMITS.reboot.everyS);
});

test('20 reboot commands run the reboot command once; the rest get E_RATE_LIMITED, are not recorded, and the ack encodes', async (t) => {
  const dir = await scratch(t);
  let now = 9_000_000;
  let reboots = 0;
  const d = new CommandDispatcher({
    ledger: await CommandLedger.open(dir, silentLogger()),
    limits: await CommandLimiter.open(dir, silentLogger(), { now: () => now }),
    update: null,
    rebooter: { reboot: async () => void reboots++ },
    refreshInventory: async () => {},
    onConfig: async () => {},
    report: async () => {},
    log: silentLogger(),
  });
  const acks = [];
  for (let i = 0; i < 20; i++) acks.push(await d.handle({ v: 1, type: 'reboot', id: `r-${i}` }));
  await waitFor('first reboot ran', () => reboots === 1);
  assert.equal(acks[0]!.result, 'accepted');
  for (const a of acks.slice(1)) {
    assert.equal(a.code, 'E_RATE_LIMITED');
    assert.ok(a.retryAfterS! >= 1 && a.retryAfterS! <= COMMAND_LIMITS.reboot.everyS);
  }
  const wire = encodeAgentMessage({ v: 1, type: 'ack', id: 'a-1', ref: 'r-1', ...acks[1]! });
  assert.equal((decodeAgentMessage(wire) as { ok: true; message: { retryAfterS?: number } }).message.retryAfterS, acks[1]!.retryAfterS);
  now += COMMAND_LIMITS.reboot.everyS * 1000;
  assert.equal((await d.handle({ v: 1, type: 'reboot', id: 'r-1' })).result, 'accepted', 'a refused command resent later runs');
  await waitFor('second reboot ran', () => reboots === 2);
  assert.equal((await d.handle({ v: 1, type: 'reboot', id: 'r-1' })).result, 'duplicate');
});

test('refreshes are coalesced: several asked for while one runs collect once, and each gets its command.result', async (t) => {
  const dir = await scratch(t);
  let collections = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reporter = new Reporter({
    append: async () => {}, source: null, update: null, log: silentLogger(), inventoryIntervalS: 0, locationIntervalS: 3600,
    inventory: { request: async () => { collections++; await gate; } },
  });
  const results: ReportBody[] = [];
  const d = new CommandDispatcher({
    ledger: await CommandLedger.open(dir, silentLogger()),
    limits: await CommandLimiter.open(dir, silentLogger(), { rules: { 'inventory.refresh': { burst: 5, everyS: 60 } } }),
    update: null, rebooter: null,
    refreshInventory: () => reporter.refreshInventory(),
    onConfig: async () => {},
    report: async (b) => void results.push(b),
    log: silentLogger(),
  });
  const cmds: Command[] = Array.from({ length: 8 }, (_, i) => ({ v: 1, type: 'inventory.refresh', id: `i-${i}` }));
  const acks = [];
  for (const c of cmds) acks.push(await d.handle(c));
  assert.deepEqual(acks.map((a) => a.result), ['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'rejected', 'rejected', 'rejected']);
  assert.ok(acks.slice(5).every((a) => a.code === 'E_RATE_LIMITED'));
  await waitFor('the first one collecting', () => collections === 1);
  // Each accepted refresh starts once its ack is out (next turn of the event loop).
  await new Promise((r) => setImmediate(r));
  release();
  await waitFor('five command results', () => results.length === 5);
  assert.equal(collections, 1, 'one collection served all five');
});

test('an offer without bundle.manifestSha256 is refused with E_OFFER_UNPINNED before the update service sees it', async (t) => {
  const dir = await scratch(t);
  const offered: string[] = [];
  const d = new CommandDispatcher({
    ledger: await CommandLedger.open(dir, silentLogger()),
    update: { offer: async (o) => (offered.push(o.deploymentId), { result: 'accepted' }), cancel: async () => false, status: () => null, onEvent: () => () => {} },
    rebooter: null, refreshInventory: async () => {}, onConfig: async () => {}, report: async () => {}, log: silentLogger(),
  });
  const offer = { v: 1 as const, type: 'offer' as const, id: 'o-1', deploymentId: 'd-1', bundle: { url: 'https://hub.example/b', size: 1 }, version: '2', release: '2' };
  const ack = await d.handle(offer);
  assert.equal(ack.result, 'rejected');
  assert.equal(ack.code, 'E_OFFER_UNPINNED');
  assert.equal((await d.handle({ ...offer, id: 'o-2', deploymentId: 'd-2', bundle: { ...offer.bundle, manifestSha256: 'e'.repeat(64) } })).result, 'accepted');
  assert.deepEqual(offered, ['d-2']);
});
