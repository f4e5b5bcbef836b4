// Follows a rollout at the hub the way an operator watches a dashboard: one line each time a
// wave opens or its counts change, until the rollout completes or pauses.
import type { DemoHub, RolloutView } from './hub.ts';
import { say } from './say.ts';

export type Until = <T>(what: string, check: () => Promise<T> | T) => Promise<NonNullable<T>>;

const SHOWN: Array<[string, string[]]> = [
  ['committed', ['committed', 'already']], ['failed', ['failed', 'rejected', 'timed-out']], ['rolled back', ['rolled-back']],
  ['waiting for a window', ['waiting']], ['downloading', ['downloading']], ['installed, rebooting', ['installed']], ['offered', ['offered', 'pending']],
];

function line(v: RolloutView): string {
  const waves = v.progress.filter((w) => w.opened).map((w) => {
    const parts = SHOWN.map(([label, keys]) => [label, keys.reduce((a, k) => a + (w.counts[k] ?? 0), 0)] as const).filter(([, n]) => n > 0);
    return `wave ${w.wave} (${w.size}): ${parts.map(([l, n]) => `${n} ${l}`).join(', ') || 'starting'}`;
  });
  return `hub: ${v.id} ${v.status}, ${waves.join(' | ')}`;
}

/** Polls the rollout; `tick` runs at every poll (the demo's operator reacts there). */
export async function followRollout(hub: DemoHub, id: string, until: Until, tick: () => Promise<void>): Promise<RolloutView> {
  let shown = '';
  return until(`rollout ${id} to complete or stop`, async () => {
    const v = await hub.rollout(id);
    const text = line(v);
    if (text !== shown) say((shown = text));
    await tick();
    return v.status === 'running' ? null : v;
  });
}
