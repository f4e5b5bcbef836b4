// SIGKILL the real CLI at every persisted state and at random points of the slot write (52 kill
// points); after each, power-cycle the simulated node and resume. See scenarios.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeKit } from '../support/bundle-kit.ts';
import { measureWrite, runAll, stateKills, writeKills, type NodeShape } from './scenarios.ts';
import { seededRandom } from '../support/seeded-random.ts';

const shape: NodeShape = { slotSize: 2 << 20, checkpointBytes: 128 << 10 };
let kit: Awaited<ReturnType<typeof makeKit>>;
before(async () => {
  kit = await makeKit({ imageSize: 1536 << 10, blockSize: 64 << 10 });
});
after(() => kit.dispose());

test('every persisted state and 30 write offsets: always bootable, verified, and an outcome', async (t) => {
  const writeMs = await measureWrite(kit, shape);
  const scenarios = [...stateKills([0, 3]), ...writeKills(30, writeMs, seededRandom(20261121))];
  assert.ok(scenarios.length >= 50);
  const results = await runAll(kit, shape, scenarios, 2);
  const died = new Set(results.map((r) => r.diedIn).filter((s): s is string => s !== null));
  const blocks = results.map((r) => r.recordedBlocks).filter((b): b is number => b !== null);
  t.diagnostic(`write ${writeMs.toFixed(0)} ms; died in states: ${[...died].sort().join(', ')}`);
  t.diagnostic(`blocks durably recorded at kills during writing: ${blocks.sort((a, b) => a - b).join(' ')}`);
  // The kills landed where they were aimed. Fast steps (a few ms) may be finished by the time the
  // kill arrives, so only the slow ones must be hit every run; the diagnostic lists the rest.
  for (const s of ['writing', 'rebooting', 'health_checking']) assert.ok(died.has(s), `a kill landed in ${s}`);
  assert.ok(died.size >= 6, `kills landed in at least 6 different states`);
  assert.ok(blocks.some((b) => b > 0), 'some kills hit after a progress checkpoint');
  const missed = results.filter((r) => r.diedIn === null).map((r) => r.name);
  assert.ok(results.length - missed.length >= 50, `at least 50 processes were killed; not killed: ${missed.join('; ')}`);
});
