// A new rollout from an operator's request: the bundle's identity comes from its signed manifest
// (the registered bundle row), the target is resolved into members once, each with its wave, and
// everything is checked before anything is stored (E_ROLLOUT_SPEC says what is wrong).
import { randomBytes } from 'node:crypto';
import type { BundleRow, HubStore, MemberInput, NewRollout, NodeFilter, RolloutRow } from '../store/types.ts';
import { RolloutError } from './actions.ts';
import { assignWaves } from './membership.ts';
import { fleetNodeOf, toStoreWave } from './rows.ts';
import type { FleetNode, RolloutSpec, WaveSpec } from './types.ts';

/** Target keys an operator may use (the store's node filter, minus what makes no sense here). */
const TARGET_KEYS = ['group', 'label', 'compatible', 'siteId', 'siteName', 'region', 'bbox', 'version', 'release', 'releaseBelow', 'ids', 'idPrefix', 'health'] as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const DEFAULT_DEADLINE_S = 3600;

export interface CreateInput {
  bundle: BundleRow;
  body: Record<string, unknown>;
  createdBy: string | null;
  now: number;
}

function bad(message: string): never {
  throw new RolloutError('E_ROLLOUT_SPEC', message, 400);
}

/** "1%", "10%", 5, {"percent": 50}, {"count": 3}: cumulative wave ends. */
export function parseWaves(v: unknown): WaveSpec[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 20) bad('"waves": 1 to 20 wave ends, e.g. ["1%", "10%", "50%", "100%"] or [1, 5, "100%"]');
  const out = v.map((w, i): WaveSpec => {
    const at = `waves[${i}]`;
    if (typeof w === 'string' && /^\d+(\.\d+)?%$/.test(w)) w = { percent: Number(w.slice(0, -1)) };
    else if (typeof w === 'string' && /^\d+$/.test(w)) w = { count: Number(w) };
    else if (typeof w === 'number') w = { count: w };
    const o = w as { count?: unknown; percent?: unknown };
    if (o && typeof o === 'object' && Object.keys(o).length === 1) {
      if (Number.isSafeInteger(o.count) && (o.count as number) >= 1) return { count: o.count as number };
      if (typeof o.percent === 'number' && o.percent > 0 && o.percent <= 100) return { percent: o.percent };
    }
    return bad(`${at}: a node count (>= 1) or a percentage (0 < p <= 100), e.g. 5 or "10%"`);
  });
  for (let i = 1; i < out.length; i++) {
    const [a, b] = [out[i - 1]!, out[i]!];
    if (('count' in a && 'count' in b && b.count <= a.count) || ('percent' in a && 'percent' in b && b.percent <= a.percent)) {
      bad(`waves must grow: wave ${i + 1} ends before or where wave ${i} ends`);
    }
  }
  return out;
}

function optNumber(b: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(`"${key}": a number from ${min} to ${max}`);
  return v;
}

export function parseTarget(v: unknown): NodeFilter {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('"target": an object, e.g. {"group": "berlin"} or {"compatible": "board-a", "siteId": "BER-03"}');
  for (const k of Object.keys(v)) if (!(TARGET_KEYS as readonly string[]).includes(k)) bad(`"target.${k}": not a target key (${TARGET_KEYS.join(', ')})`);
  return { ...(v as NodeFilter) };
}

/** The targeted accepted nodes (every page). */
async function targetedNodes(store: Pick<HubStore, 'listNodes'>, filter: NodeFilter): Promise<FleetNode[]> {
  const out: FleetNode[] = [];
  let after: string | undefined;
  do {
    const page = await store.listNodes({ ...filter, status: 'accepted' }, { limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.nodes.map(fleetNodeOf));
    after = page.next ?? undefined;
  } while (after);
  return out;
}

/** Validates, resolves members, stores the rollout (running; the driver opens wave 1). */
export async function createRollout(store: Pick<HubStore, 'listNodes' | 'createRollout' | 'getRollout'>, i: CreateInput): Promise<RolloutRow> {
  const b = i.body;
  const id = b.id === undefined ? `r-${i.now.toString(36)}-${randomBytes(3).toString('hex')}` : String(b.id);
  if (!ID.test(id)) bad('"id": up to 40 letters, digits, ".", "_" or "-"');
  if (b.id !== undefined && (await store.getRollout(id))) throw new RolloutError('E_ROLLOUT_EXISTS', `a rollout ${id} exists already`, 409);
  const waves = parseWaves(b.waves);
  const target = parseTarget(b.target);
  const maxFailures = optNumber(b, 'maxFailures', 0, 1e9);
  const maxFailurePercent = optNumber(b, 'maxFailurePercent', 0, 100);
  const deadlineS = optNumber(b, 'deadlineS', 10, 30 * 86_400) ?? DEFAULT_DEADLINE_S;
  const minSuccessPercent = optNumber(b, 'minSuccessPercent', 0, 100) ?? 0;
  if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length > 200)) bad('"name": up to 200 characters');
  for (const k of Object.keys(b)) {
    if (!['id', 'name', 'bundle', 'target', 'waves', 'maxFailures', 'maxFailurePercent', 'deadlineS', 'minSuccessPercent', 'now', 'windows', 'installWindows'].includes(k)) bad(`"${k}": unknown field`);
  }
  const offer: Record<string, unknown> = {};
  if (b.now === true) offer.now = true;
  for (const k of ['windows', 'installWindows'] as const) if (b[k] !== undefined) offer[k] = b[k];

  const bundle = { bundleId: i.bundle.id, manifestSha256: i.bundle.manifestSha256, version: i.bundle.version, release: i.bundle.release, compatible: [...i.bundle.compatible] };
  // Without a threshold any failure pauses: the safe default for an update nobody has tried yet.
  const failure = maxFailures === undefined && maxFailurePercent === undefined ? { maxFailures: 0 } : {
    ...(maxFailures !== undefined ? { maxFailures } : {}), ...(maxFailurePercent !== undefined ? { maxFailurePercent } : {}),
  };
  const spec: RolloutSpec = {
    id, bundle, target, waves, deadlineS, minSuccessPercent,
    threshold: { ...(failure.maxFailures !== undefined ? { count: failure.maxFailures } : {}), ...(failure.maxFailurePercent !== undefined ? { percent: failure.maxFailurePercent } : {}) },
  };
  const nodes = await targetedNodes(store, target);
  if (!nodes.length) throw new RolloutError('E_ROLLOUT_EMPTY', `no accepted node matches the target ${JSON.stringify(target)}`, 409);
  const members: MemberInput[] = assignWaves(spec, nodes).map((a) => ({ nodeId: a.nodeId, wave: a.wave, status: a.status, ...(a.reason ? { reason: a.reason } : {}) }));
  const row: NewRollout = {
    id, name: typeof b.name === 'string' ? b.name : null, bundle, target, waves: waves.map(toStoreWave),
    success: { minSuccessPercent, deadlineS }, failure, offer, createdBy: i.createdBy,
  };
  return store.createRollout(row, members, i.now);
}
