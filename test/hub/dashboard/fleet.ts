// A simulated fleet for dashboard tests and the dashboard bench: nodes admitted straight into the
// hub's store with sites, groups, releases and location fixes (some "moved"), as their reports
// would leave them. No sockets: thousands of nodes in seconds.
import { createHash, randomBytes } from 'node:crypto';
import type { Report } from '../../../shared/protocol/index.ts';
import type { HubStore } from '../../../hub/store/types.ts';

export interface FleetNode {
  id: string;
  deviceId: string;
  seq: number;
}

const SITES = [
  { id: 'BER-01', name: 'Berlin Mitte', lat: 52.52, lon: 13.405 },
  { id: 'HAM-02', name: 'Hamburg Hafen', lat: 53.545, lon: 9.966 },
  { id: 'MUC-03', name: 'München Ost', lat: 48.137, lon: 11.575 },
  { id: 'CGN-04', name: 'Köln Dom', lat: 50.941, lon: 6.958 },
];

export async function addFleet(store: HubStore, n: number, o: { now?: number; hubId?: string; movedEvery?: number } = {}): Promise<FleetNode[]> {
  const now = o.now ?? Date.now();
  const out: FleetNode[] = [];
  for (let i = 0; i < n; i++) {
    const key = randomBytes(32);
    const id = createHash('sha256').update(key).digest('hex');
    const site = SITES[i % SITES.length]!;
    const deviceId = `${site.id.toLowerCase()}-gw-${String(i).padStart(5, '0')}`;
    await store.admitNode({
      id, publicKey: key.toString('base64'), deviceId, agentVersion: '0.1.0', compatible: ['board-a'],
      site: { id: site.id, name: site.name }, running: { version: '1.0', release: 1, slot: 'A' }, releaseFloor: 1,
      autoAccept: true, now,
    });
    await store.updateNode(id, { group: i % 2 ? 'east' : 'west' });
    if (o.hubId) await store.setConnected(id, o.hubId, now);
    const moved = o.movedEvery ? i % o.movedEvery === 0 : false;
    const jitter = (k: number) => ((i * 7919 + k * 104729) % 1000) / 1000 - 0.5;
    const node = { id, deviceId, seq: 0 };
    const fix = {
      type: 'location', at: now, lat: site.lat + jitter(1) * 0.2 + (moved ? 0.8 : 0), lon: site.lon + jitter(2) * 0.3,
      accuracyM: 5, source: 'gnss', fixAt: now, ...(moved ? { moved: true } : {}),
    };
    await store.appendReports(id, [report(node, fix)], now);
    out.push(node);
  }
  return out;
}

export function report(n: FleetNode, body: Record<string, unknown> & { type: string }): Report {
  n.seq++;
  return { v: 1, id: `r-${n.seq}`, seq: n.seq, ...body } as unknown as Report;
}

/** A pending enrolment (unknown key, not accepted). */
export async function addPending(store: HubStore, deviceId: string): Promise<string> {
  const key = randomBytes(32);
  const id = createHash('sha256').update(key).digest('hex');
  await store.admitNode({ id, publicKey: key.toString('base64'), deviceId, agentVersion: '0.1.0', compatible: ['board-a'], autoAccept: false, now: Date.now() });
  return id;
}
