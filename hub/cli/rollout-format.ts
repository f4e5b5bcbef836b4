// Rollouts as an operator reads them in a terminal: one table line per rollout, and for one
// rollout its bundle, target, limits, why it paused, a table of its waves and the nodes that
// failed or were skipped. Input: the operator API's JSON (hub/rollouts/operate.ts).

export interface RolloutListItem {
  id: string;
  name: string | null;
  status: string;
  bundle: string;
  wave: number;
  waves: number;
  reason: string | null;
  updatedAt: number;
}

interface NodeLine {
  node: string;
  device: string;
  wave: number;
  progress: string;
  code?: string;
  message?: string;
}

export interface RolloutView {
  id: string;
  name: string | null;
  status: string;
  reason: string | null;
  bundle: { bundleId: string; version: string; release: number; compatible: string[] };
  target: Record<string, unknown>;
  wave: number;
  waves: number;
  threshold: { maxFailures?: number; maxFailurePercent?: number };
  success: { minSuccessPercent: number; deadlineS: number };
  offered: number;
  failures: number;
  skipped: number;
  progress: Array<{ wave: number; end: string; size: number; opened: boolean; counts: Record<string, number> }>;
  failed: NodeLine[];
  skippedNodes: NodeLine[];
}

/** Columns of the wave table: what the operator asks ("how many are waiting, downloading, …"). */
const COLUMNS: Array<[string, string[]]> = [
  ['NODES', []],
  ['COMMITTED', ['committed', 'already']],
  ['FAILED', ['failed', 'rejected', 'timed-out']],
  ['ROLLED-BACK', ['rolled-back']],
  ['WAITING', ['waiting']],
  ['DOWNLOADING', ['downloading']],
  ['INSTALLED', ['installed']],
  ['OFFERED', ['offered', 'pending']],
  ['OFFLINE', ['offline']],
  ['CANCELLED', ['cancelled']],
  ['SKIPPED', ['skipped']],
];

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function rolloutListTable(items: readonly RolloutListItem[]): string {
  if (!items.length) return 'no rollouts\n';
  return table([
    ['ID', 'STATUS', 'WAVE', 'BUNDLE', 'NAME / WHY'],
    ...items.map((r) => [r.id, r.status, `${Math.max(0, r.wave)}/${r.waves}`, r.bundle, r.reason ? clip(r.reason, 80) : (r.name ?? '')]),
  ]);
}

export function rolloutShowText(r: RolloutView): string {
  const t = r.threshold;
  const limits = [t.maxFailures !== undefined ? `more than ${t.maxFailures} failed` : '', t.maxFailurePercent !== undefined ? `more than ${t.maxFailurePercent}% of offered nodes failed` : ''].filter(Boolean).join(' or ');
  const target = Object.entries(r.target).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') || 'every accepted node';
  const head = [
    `rollout ${r.id}${r.name ? ` "${r.name}"` : ''}: ${r.status.toUpperCase()}, wave ${Math.max(0, r.wave)} of ${r.waves}`,
    `  bundle     ${r.bundle.bundleId}: version ${r.bundle.version}, release ${r.bundle.release}, for ${r.bundle.compatible.join(', ')}`,
    `  target     ${target}`,
    `  pauses if  ${limits || 'never (no failure threshold)'}; a wave needs ${r.success.minSuccessPercent}% committed; a started node must commit within ${r.success.deadlineS} s`,
    `  so far     ${r.offered} offered, ${r.failures} failed or rolled back, ${r.skipped} skipped`,
    ...(r.reason ? [`  why        ${r.reason}`] : []),
    '',
  ];
  const waves = table([
    ['WAVE', 'END', ...COLUMNS.map(([h]) => h)],
    ...r.progress.map((w) => [
      `${w.wave}${w.opened ? '' : ' (not yet)'}`, w.end,
      ...COLUMNS.map(([h, keys]) => String(h === 'NODES' ? w.size : keys.reduce((a, k) => a + (w.counts[k] ?? 0), 0))),
    ]),
  ]);
  const nodes = (title: string, list: NodeLine[], total: number) => (list.length ? [
    '', `${title}${total > list.length ? ` (last ${list.length} of ${total})` : ''}:`,
    table(list.map((n) => [`  ${n.device}`, n.node.slice(0, 12), `wave ${n.wave}`, n.progress, n.code ?? '', clip(n.message ?? '', 100)])).trimEnd(),
  ] : []);
  return [...head, waves.trimEnd(), ...nodes('failed', r.failed, r.failures), ...nodes('skipped', r.skippedNodes, r.skipped)].join('\n') + '\n';
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
