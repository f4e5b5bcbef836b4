// Persist cost per report at a fleet's size: appendReports (one transaction each, as the hub's
// agent link does) timed on the hub's own database file after a run, so the tables hold the
// whole fleet and its history.
import { openStore } from '../../hub/store/open.ts';
import type { Report } from '../../shared/protocol/index.ts';

export async function persistCost(dbFile: string, reports: number): Promise<number> {
  const store = await openStore({ url: `sqlite:${dbFile}` });
  try {
    const ids: string[] = [];
    for (let after: string | undefined; ;) {
      const page = await store.listNodes({ status: 'accepted' }, { limit: 1000, ...(after ? { after } : {}) });
      ids.push(...page.nodes.map((n) => n.id));
      if (!page.next) break;
      after = page.next;
    }
    const seqs = new Map<string, number>();
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    const now = Date.now();
    let total = 0;
    for (let i = 0; i < reports; i++) {
      const id = pick();
      const seq = seqs.get(id) ?? ((await store.getNode(id))!.ackedSeq + 1);
      seqs.set(id, seq + 1);
      // A location fix: stored whole, no base hash to match (an inventory diff needs the node's own hash chain).
      const r = { v: 1, type: 'location', id: `r-${seq}`, seq, at: now, lat: 52.5, lon: 13.4, source: 'survey', fixAt: now } as Report;
      const t = performance.now();
      await store.appendReports(id, [r], now);
      total += performance.now() - t;
    }
    return total / reports;
  } finally {
    await store.close();
  }
}
