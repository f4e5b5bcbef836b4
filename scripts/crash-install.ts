// Many-kill-points crash run, by hand: node scripts/crash-install.ts [--kills N] [--seed S]
// [--parallel P] [--image-mib M]. Same scenarios and invariants as test/crash (which runs 56 in CI).
import { parseArgs } from 'node:util';
import { makeKit } from '../test/support/bundle-kit.ts';
import { measureWrite, runAll, stateKills, writeKills, type NodeShape } from '../test/crash/scenarios.ts';
import { seededRandom } from '../test/support/seeded-random.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '300' },
    seed: { type: 'string', default: String(Date.now() % 1e9) },
    parallel: { type: 'string', default: '2' },
    'image-mib': { type: 'string', default: '4' },
  },
});
const imageSize = Number(values['image-mib']) << 20;
const shape: NodeShape = { slotSize: imageSize + (1 << 20), checkpointBytes: 256 << 10 };
const seed = Number(values.seed);
const out = (s: string) => process.stdout.write(s + '\n');

const kit = await makeKit({ imageSize, blockSize: 64 << 10 });
try {
  const writeMs = await measureWrite(kit, shape);
  const states = stateKills([0, 1, 2, 5, 10]);
  const scenarios = [...states, ...writeKills(Math.max(0, Number(values.kills) - states.length), writeMs * 1.1, seededRandom(seed))];
  out(`seed ${seed}: ${scenarios.length} kill points, write takes ~${writeMs.toFixed(0)} ms`);
  const t0 = performance.now();
  const results = await runAll(kit, shape, scenarios, Number(values.parallel));
  const died = new Map<string, number>();
  for (const r of results) died.set(r.diedIn ?? '(finished first)', (died.get(r.diedIn ?? '(finished first)') ?? 0) + 1);
  const outcomes = new Map<string, number>();
  for (const r of results) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
  out(`all invariants held in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  out(`died in: ${[...died].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out(`outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const blocks = results.flatMap((r) => (r.recordedBlocks === null ? [] : [r.recordedBlocks]));
  out(`blocks recorded at kills mid-write: min ${Math.min(...blocks)} max ${Math.max(...blocks)} distinct ${new Set(blocks).size}`);
} catch (err) {
  process.stderr.write(`FAILED (seed ${seed}): ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await kit.dispose();
}
