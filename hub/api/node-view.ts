// How the operator API shows a node: a summary row for lists, a detail record (inventory,
// location, deployments, commands, report log) for one node. Field names are API: docs/hub.md.
import type { CommandRow, DeploymentRow, HubStore, NodeRow } from '../store/types.ts';

export function nodeSummary(n: NodeRow) {
  return {
    fingerprint: n.id, deviceId: n.deviceId, name: n.name, status: n.status, online: n.connectedVia !== null,
    group: n.group, groups: n.group ? [n.group] : [], labels: n.labels, region: n.region,
    agentVersion: n.agentVersion, running: n.running, site: n.site, compatible: n.compatible, releaseFloor: n.releaseFloor,
    health: n.health, firstSeen: n.firstSeen, lastSeen: n.lastSeen, ackedSeq: n.ackedSeq, reports: n.reports,
  };
}

function deploymentView(d: DeploymentRow) {
  return {
    id: d.deploymentId, rolloutId: d.rolloutId, bundleId: d.bundleId, state: d.state, progress: d.progress,
    outcome: d.result === null ? null : {
      result: d.result, log: d.log ?? '', ...(d.version ? { version: d.version } : {}), ...(d.code ? { code: d.code } : {}), ...(d.message ? { message: d.message } : {}),
    },
    createdAt: d.createdAt, updatedAt: d.updatedAt, finishedAt: d.finishedAt,
  };
}

function ackView(c: CommandRow) {
  return { ref: c.id, type: c.type, result: c.ack?.result ?? c.status, ...(c.ack?.code ? { code: c.ack.code } : {}), at: c.ack?.at ?? c.createdAt };
}

export async function nodeDetail(store: HubStore, n: NodeRow) {
  const [inventory, deployments, commands, log, locations] = await Promise.all([
    store.getInventory(n.id), store.listDeployments({ nodeId: n.id }, { limit: 20 }), store.listCommands({ nodeId: n.id }, { limit: 200 }),
    store.reportLog(n.id, { limit: 1000 }), store.locationHistory(n.id, { limit: 20 }),
  ]);
  const newest = deployments[0];
  return {
    ...nodeSummary(n),
    inventoryHash: n.inventoryHash,
    inventory: inventory?.data ?? null,
    inventoryTruncated: inventory?.truncated ?? false,
    location: n.location,
    locations,
    deployment: newest ? deploymentView(newest) : null,
    deployments: deployments.map(deploymentView),
    outstanding: commands.filter((c) => c.status === 'pending').reverse().map((c) => ({ id: c.id, type: c.type })),
    // Oldest first, as they happened.
    acks: commands.filter((c) => c.status === 'acked').reverse().map(ackView),
    history: log.reverse().map((r) => ({ seq: r.seq, type: r.type, at: r.at, ...(r.mode ? { mode: r.mode } : {}) })),
  };
}
