// Rollouts end to end: `outpost-hub serve` on SQLite, three REAL agents (`outpost run` on file
// slots under the boot simulator) and a simulated fleet of 200 nodes running the real agent link
// code. A good release goes through every wave and the real agents commit it; a release failing
// on 3% of the simulated nodes (and on the real agents) pauses itself in the first wave where the
// failures pass the threshold, later waves never receive it; resume and abort do what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAll, setUp, tearDown, waitUntil, type Rig } from '../../../scripts/fleet-sim/scenarios.ts';
import { chooseFailing } from '../../../scripts/fleet-sim/choose.ts';
import { DemoNode } from '../../../scripts/demo/node.ts';
import { writeDemoImage } from '../../../scripts/demo/image.ts';
import { outpost } from '../../../scripts/demo/run-cli.ts';

const SIM = 200;
const REAL = ['real-1', 'real-2', 'real-3'];
const COMPATIBLE = 'sim-board';

interface View {
  status: string;
  reason: string | null;
  wave: number;
  progress: Array<{ wave: number; size: number; opened: boolean; counts: Record<string, number> }>;
}

const sum = (c: Record<string, number>, keys: string[]) => keys.reduce((a, k) => a + (c[k] ?? 0), 0);
const FAILED = ['failed', 'rolled-back', 'rejected', 'timed-out'];
const IN_FLIGHT = ['offered', 'waiting', 'downloading', 'installed'];
const REACHED = ['offered', 'waiting', 'downloading', 'installed', 'committed', 'failed', 'rolled-back', 'rejected', 'timed-out', 'cancelled'];

test('rollouts on a fleet of real and simulated nodes: waves, automatic pause, resume, abort', { timeout: 900_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-rollouts-fleet-'));
  const signal = AbortSignal.timeout(880_000);
  let rig: Rig | null = null;
  const real: DemoNode[] = [];
  try {
    const failing = chooseFailing(SIM, 3, 'fleet-rollout-test');
    rig = await setUp({ dir, nodes: SIM, workers: 2, failing, failVersion: '2.1', stepMs: 300, compatible: COMPATIBLE, hubArgs: ['--accept-all'] });
    const r = rig;
    const api = <T>(method: string, path: string, body?: unknown) => r.hub.api<T>(r.token, method, path, body);

    // Two signed releases of a demo image (its health check reads the image's self-test).
    const keys = join(dir, 'keys');
    const images = join(dir, 'images');
    await mkdir(images);
    await outpost(['bundle', 'keygen', '--out', keys, '--id', 'test-ci'], signal);
    await outpost(['bundle', 'trust', 'init', '--key', join(keys, 'test-ci.pub'), '--out', join(dir, 'root.json')], signal);
    for (const [version, rel, healthy] of [['1.0', 1, true], ['2.0', 2, true], ['2.1', 3, false]] as const) {
      await writeDemoImage(join(images, `${version}.img`), { version, healthy, size: 1 << 20 });
      if (version === '1.0') continue;
      await outpost(['bundle', 'create', '--image', join(images, `${version}.img`), '--version', version, '--release', String(rel), '--compatible', COMPATIBLE,
        '--key', join(keys, 'test-ci.key'), '--block-size', '64K', '--out', join(r.bundles, `rootfs-${version}.bundle`)], signal);
    }
    for (const name of REAL) {
      const n = await DemoNode.create({
        dir: join(dir, name), deviceId: name, hubUrl: r.hub.agentUrl, slotSize: 2 << 20, compatible: COMPATIBLE, trustFile: join(dir, 'root.json'),
        factoryImage: { path: join(images, '1.0.img'), version: '1.0', release: 1 }, compileCache: join(dir, 'compile-cache'), extra: {},
      });
      real.push(n);
      await n.powerOn();
    }
    await connectAll(r, 300_000);
    const failed = () => real.find((n) => n.failure)?.failure ?? null;
    await waitUntil('the real agents to report to the hub', async () => {
      const e = failed();
      if (e) throw e;
      const nodes = await Promise.all(REAL.map((d) => api<Array<{ online: boolean; running: unknown }>>('GET', `/admin/nodes/${d}`).catch(() => [])));
      return nodes.every((n) => n[0]?.online && n[0].running);
    }, 300_000, 500);

    const follow = async (id: string, until: (v: View) => boolean) => {
      let v: View | null = null;
      await waitUntil(`rollout ${id}`, async () => {
        const e = failed();
        if (e) throw e;
        v = await api<View>('GET', `/admin/rollouts/${id}`);
        return until(v);
      }, 600_000, 500);
      return v as unknown as View;
    };

    // 1. A good release: every wave, the real agents commit it on their slots.
    await api('POST', '/admin/rollouts', { id: 'good', bundle: 'rootfs-2.0.bundle', waves: ['2%', '100%'], maxFailurePercent: 2, deadlineS: 600 });
    const good = await follow('good', (v) => v.status !== 'running');
    assert.equal(good.status, 'completed', good.reason ?? '');
    assert.equal(sum(good.progress[1]!.counts, ['committed']), good.progress[1]!.size);
    await waitUntil('the real agents to run 2.0', async () => {
      const nodes = await Promise.all(REAL.map((d) => api<Array<{ running: { version: string } | null }>>('GET', `/admin/nodes/${d}`)));
      return nodes.every((n) => n[0]?.running?.version === '2.0');
    }, 300_000, 500);

    // 2. A release failing on 3% of the simulated nodes and on the real agents: it stops itself.
    await api('POST', '/admin/rollouts', { id: 'bad', bundle: 'rootfs-2.1.bundle', waves: ['2%', '10%', '50%', '100%'], maxFailurePercent: 2, deadlineS: 600 });
    const bad = await follow('bad', (v) => v.status !== 'running');
    assert.equal(bad.status, 'paused');
    assert.match(bad.reason ?? '', new RegExp(`^failure threshold passed in wave ${bad.wave}: `));
    await sleep(3000); // offers already out finish; nothing new goes out
    const after = await api<View>('GET', '/admin/rollouts/bad');
    // The first wave where it shows: every earlier wave finished within the threshold.
    let reached = 0;
    let failures = 0;
    for (const w of after.progress.slice(0, bad.wave - 1)) {
      reached += sum(w.counts, REACHED);
      failures += sum(w.counts, FAILED);
      assert.ok(failures * 100 <= 2 * reached, `wave ${w.wave} was within the threshold: ${JSON.stringify(after.progress)}`);
    }
    for (const w of after.progress.slice(bad.wave)) assert.equal(sum(w.counts, REACHED), 0, `wave ${w.wave} never received 2.1`);

    // 3. Resume: offers go out again (the failures so far accepted); then abort: nothing new.
    // Resume only once the offers already out have ended: a failure reported after the resume
    // counts against it (the operator accepted only the failures seen so far), so resuming while
    // the real agents are still rolling back would pause it again on a slow machine.
    await follow('bad', (v) => v.progress.slice(0, v.wave).every((w) => sum(w.counts, IN_FLIGHT) === 0));
    await api('POST', '/admin/rollouts/bad/resume', {});
    const resumed = await follow('bad', (v) => v.wave > bad.wave || v.status !== 'running');
    assert.ok(resumed.wave > bad.wave || resumed.status === 'completed', `resumed: ${JSON.stringify(resumed)}`);
    const aborted = await api<View>('POST', '/admin/rollouts/bad/abort', { reason: 'test' });
    assert.equal(aborted.status, 'aborted');
    assert.equal(aborted.reason, 'aborted by the operator: test');
    await sleep(3000);
    const offers = [...r.fleet.offers.values()].filter((d) => d.includes('bad')).length;
    await sleep(5000);
    assert.equal([...r.fleet.offers.values()].filter((d) => d.includes('bad')).length, offers, 'no offer after the abort');
    const final = await api<View>('GET', '/admin/rollouts/bad');
    // Members of waves never opened are cancelled, not left to be offered.
    assert.ok(final.progress.every((w) => w.opened || sum(w.counts, ['cancelled', 'skipped', 'already']) === w.size), JSON.stringify(final.progress));
  } finally {
    await Promise.all(real.map((n) => n.shutdown().catch(() => {})));
    await tearDown(rig);
    await rm(dir, { recursive: true, force: true });
    await rm(`/dev/shm/${dir.split('/').pop()}-agents`, { recursive: true, force: true });
  }
});
