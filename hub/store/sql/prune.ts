// Age-based retention, run periodically by the hub (count bounds are kept on every write).
// Deletes in batches, each its own transaction, so report writes never wait long behind it.
import type { Db, Param } from './db.ts';
import { deleteNodes } from './nodes.ts';
import type { StoreLimits } from '../limits.ts';
import type { PruneResult } from '../types.ts';

const BATCH = 2_000;

async function batched(db: Db, table: string, key: string, where: string, params: Param[]): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.tx((tx) => tx.run(
      `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ${BATCH})`, params,
    ));
    total += n;
    if (n < BATCH) return total;
  }
}

export async function pruneHistory(db: Db, limits: StoreLimits, now: number): Promise<PruneResult> {
  const cutoff = now - limits.historyMaxAgeMs;
  return {
    reportLog: await batched(db, 'report_log', 'node_id, seq', 'received_at < ?', [cutoff]),
    locations: await batched(db, 'locations', 'node_id, seq', 'at < ?', [cutoff]),
    deployments: await batched(db, 'deployments', 'node_id, deployment_id', 'finished_at < ?', [cutoff]),
    commands: await batched(db, 'commands', 'node_id, id', "status <> 'pending' AND finished_at < ?", [cutoff]),
    pendingNodes: await db.tx((tx) => deleteNodes(tx, "status = 'pending' AND last_seen < ?", [now - limits.pendingTtlMs])),
    rejectedNodes: await db.tx((tx) => deleteNodes(tx, "status = 'rejected' AND last_seen < ?", [now - limits.rejectedTtlMs])),
  };
}
