// Kill points for the crash tests (CI) and scripts/crash-install.ts (by hand, many more).
// Each scenario: a fresh node, the real CLI SIGKILLed (with its process group) at a point,
// then the node power-cycles and `install --resume` runs until the deployment has an outcome.
// Invariants are asserted after the kill, after the reboot and at the end.
import assert from 'node:assert/strict';
import { TestNode, type BundleKit, type KillPlan } from '../support/test-node.ts';
import { seededRandom } from '../support/seeded-random.ts';

export interface Scenario {
  name: string;
  /** 'install': kill `install FILE`; 'resume': let install finish, kill the first `install --resume`. */
  phase: 'install' | 'resume';
  kill: KillPlan;
  healthy: boolean;
}

export interface ScenarioResult {
  name: string;
  /** Journal state the process died in (what the disk said at the kill). */
  diedIn: string | null;
  /** Blocks recorded as durably written at the kill (writing only). */
  recordedBlocks: number | null;
  outcome: string;
}

const atState = (s: string) => (line: string) => line === `state: ${s}` || line.startsWith(`state: ${s} `);

export function stateKills(delays: readonly number[]): Scenario[] {
  const out: Scenario[] = [];
  // The CLI has no install windows, but it passes through (and journals) awaiting_install_window.
  for (const s of ['preparing', 'writing', 'verifying', 'awaiting_install_window', 'arming', 'rebooting']) {
    for (const d of delays) out.push({ name: `install killed at ${s} +${d}ms`, phase: 'install', kill: { when: atState(s), delayMs: d }, healthy: true });
  }
  for (const s of ['booted', 'health_checking', 'committing']) {
    for (const d of delays) out.push({ name: `resume killed at ${s} +${d}ms`, phase: 'resume', kill: { when: atState(s), delayMs: d }, healthy: true });
  }
  for (const s of ['reverting', 'rollback_rebooting']) {
    for (const d of delays) out.push({ name: `unhealthy resume killed at ${s} +${d}ms`, phase: 'resume', kill: { when: atState(s), delayMs: d }, healthy: false });
  }
  return out;
}

/** Kills spread over the slot write: delays after `state: writing` up to `writeMs`. */
export function writeKills(count: number, writeMs: number, random: () => number): Scenario[] {
  return Array.from({ length: count }, (_, i) => {
    const d = Math.round(random() * writeMs * 10) / 10;
    return { name: `write killed #${i} +${d}ms`, phase: 'install' as const, kill: { when: atState('writing'), delayMs: d }, healthy: random() < 0.8 };
  });
}

export interface NodeShape {
  slotSize: number;
  checkpointBytes: number;
}

export async function runScenario(kit: BundleKit, shape: NodeShape, sc: Scenario): Promise<ScenarioResult> {
  // A short sleep keeps health checks long enough to be killed in.
  const check = sc.healthy ? ['/bin/sh', '-c', 'sleep 0.02'] : ['/bin/sh', '-c', 'sleep 0.02; exit 4'];
  const node = await TestNode.create({ kit, slotSize: shape.slotSize, checkpointBytes: shape.checkpointBytes, healthChecks: [check] });
  try {
    let run;
    if (sc.phase === 'install') {
      run = await node.cli(['install', kit.bundle], sc.kill);
    } else {
      const install = await node.cli(['install', kit.bundle]);
      assert.equal(install.code, 0, `${sc.name}: install: ${install.stderr}`);
      run = await node.cli(['install', '--resume'], sc.kill);
    }
    const atKill = await node.journal();
    assert.deepEqual(node.strays(), [], `${sc.name}: nothing the agent started survives the kill`);
    await node.assertBootable(`${sc.name}: after the kill`);
    await node.reboot(); // the power cut
    await node.assertBootable(`${sc.name}: after the reboot`);
    const { journal } = await node.settle();
    const want = sc.healthy ? 'committed' : 'rolled_back';
    // Killing after the outcome was recorded is possible (a late kill); it stays the outcome.
    assert.equal(journal.state, want, `${sc.name}: outcome (killed=${run.killed}, died in ${atKill?.state})`);
    await node.assertBootable(`${sc.name}: at the end`);
    assert.equal(await node.booted(), sc.healthy ? 'B' : 'A', `${sc.name}: running slot`);
    if (sc.healthy) assert.equal(await node.holds('B'), 'new');
    const env = await node.env().read();
    assert.equal(env[`OUTPOST_${sc.healthy ? 'B' : 'A'}_GOOD`], '1', `${sc.name}: running slot committed`);
    return {
      name: sc.name,
      diedIn: run.killed ? (atKill?.state ?? 'none') : null,
      recordedBlocks: atKill?.state === 'writing' ? (atKill.progress?.nextBlock ?? 0) : null,
      outcome: journal.state,
    };
  } finally {
    await node.dispose();
  }
}

/** Runs scenarios `parallel` at a time; returns results in order. */
export async function runAll(kit: BundleKit, shape: NodeShape, scenarios: readonly Scenario[], parallel: number): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const i = next++;
      results[i] = await runScenario(kit, shape, scenarios[i]!);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}


/** How long the slot write takes on this machine (ms between `state: writing` and `state: verifying`). */
export async function measureWrite(kit: BundleKit, shape: NodeShape): Promise<number> {
  const node = await TestNode.create({ kit, slotSize: shape.slotSize, checkpointBytes: shape.checkpointBytes });
  try {
    let t0 = 0;
    let t1 = 0;
    await node.cli(['install', kit.bundle], {
      when: (line) => {
        if (line === 'state: writing') t0 = performance.now();
        if (line === 'state: verifying') t1 = performance.now();
        return false;
      },
      delayMs: 0,
    });
    return Math.max(1, t1 - t0);
  } finally {
    await node.dispose();
  }
}
