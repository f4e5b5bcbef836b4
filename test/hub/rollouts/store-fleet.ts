// A fleet of store-level nodes for driver tests: each node is admitted and connected through the
// real store, takes its commands from the store's queue, acknowledges them and reports its
// deployment's states and outcome exactly as the hub's agent link stores them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Offer, Report } from '../../../shared/protocol/index.ts';
import type { BundleRow, HubStore, RolloutRow } from '../../../hub/store/types.ts';

export interface SimNode {
  id: string;
  deviceId: string;
  online: boolean;
  /** Health check fails after the install: the node rolls back. */
  failing: boolean;
  /** Download window closed: accepts offers and waits. */
  windowClosed: boolean;
  seq: number;
  /** Deployment id → how far this node got (0 offered … 3 finished). */
  progress: Map<string, number>;
  offers: number;
  cancels: number;
}

export const HUB_ID = 'hub-test';

export async function addNodes(store: HubStore, n: number, now: number, o: { compatible?: string[]; floor?: number } = {}): Promise<SimNode[]> {
  const out: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const key = randomBytes(32);
    const id = createHash('sha256').update(key).digest('hex');
    const deviceId = `gw-${String(i).padStart(4, '0')}`;
    await store.admitNode({
      id, publicKey: key.toString('base64'), deviceId, agentVersion: '0.1.0', compatible: o.compatible ?? ['board-a'],
      running: { version: '1.0', release: 1, slot: 'A' }, releaseFloor: o.floor ?? 1, autoAccept: true, now,
    });
    await store.setConnected(id, HUB_ID, now);
    out.push({ id, deviceId, online: true, failing: false, windowClosed: false, seq: 0, progress: new Map(), offers: 0, cancels: 0 });
  }
  return out;
}

export function bundleRow(now: number, o: Partial<BundleRow> = {}): BundleRow {
  return {
    id: 'rootfs-2.0.bundle', path: '/nowhere/rootfs-2.0.bundle', size: 1000, sha256: 'b'.repeat(64), manifestSha256: 'c'.repeat(64),
    version: '2.0', release: 2, compatible: ['board-a'], addedAt: now, ...o,
  };
}

/** The offer a driver sends (the hub's bundle service builds the real one). */
export async function testOffer(nodeId: string, r: RolloutRow, deploymentId: string): Promise<Offer> {
  const offer = {
    v: 1, type: 'offer', id: `c-${randomUUID()}`, deploymentId,
    bundle: { url: `http://127.0.0.1:9/bundles/${r.bundle.bundleId}?node=${nodeId.slice(0, 8)}`, size: 1000, manifestSha256: r.bundle.manifestSha256 },
    version: r.bundle.version, release: String(r.bundle.release),
  };
  return offer as unknown as Offer;
}

/**
 * One round for every online node: acknowledge queued commands, then move each deployment one
 * step (writing → health_checking → outcome). Returns how many store writes it made.
 */
export async function stepNodes(store: HubStore, nodes: readonly SimNode[], now: number): Promise<number> {
  let writes = 0;
  for (const n of nodes) {
    if (!n.online) continue;
    for (const c of await store.outstandingCommands(n.id)) {
      if (c.command.type === 'offer') n.offers++;
      if (c.command.type === 'cancel') {
        n.cancels++;
        const d = c.command.deploymentId;
        const waiting = (n.progress.get(d) ?? 0) === 0;
        await store.ackCommand(n.id, c.id, waiting ? { result: 'accepted' } : { result: 'rejected', code: 'E_CANCEL_TOO_LATE' }, now);
        if (waiting) {
          n.progress.set(d, 3);
          await report(store, n, { type: 'update.outcome', at: now, deploymentId: d, result: 'cancelled', code: 'E_CANCELLED', log: '' }, now);
        }
        writes++;
        continue;
      }
      await store.ackCommand(n.id, c.id, { result: 'accepted' }, now);
      if (c.command.type === 'offer' && !n.progress.has(c.command.deploymentId)) n.progress.set(c.command.deploymentId, 0);
      writes++;
    }
    for (const [d, p] of n.progress) {
      if (p >= 3 || n.windowClosed) continue;
      const r: Report[] = [];
      if (p === 0) r.push(mk(n, { type: 'update.state', at: now, deploymentId: d, state: 'writing' }));
      if (p === 1) r.push(mk(n, { type: 'update.state', at: now, deploymentId: d, state: 'health_checking' }));
      if (p === 2) {
        r.push(mk(n, n.failing
          ? { type: 'update.outcome', at: now, deploymentId: d, result: 'rolled-back', code: 'E_HEALTH_CHECK', message: 'app-selftest failed', log: '' }
          : { type: 'update.outcome', at: now, deploymentId: d, result: 'success', version: '2.0', log: '' }));
      }
      await store.appendReports(n.id, r, now);
      n.progress.set(d, p + 1);
      writes++;
    }
  }
  return writes;
}

type Body = Record<string, unknown> & { type: string };

function mk(n: SimNode, body: Body): Report {
  n.seq++;
  return { v: 1, id: `r-${n.seq}`, seq: n.seq, ...body } as unknown as Report;
}

async function report(store: HubStore, n: SimNode, body: Body, now: number): Promise<void> {
  await store.appendReports(n.id, [mk(n, body)], now);
}
