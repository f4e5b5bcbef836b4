// Operator endpoints (loopback only): list nodes, accept a fingerprint, offer an update to a
// node or a group, send other commands. Commands are stored as outstanding BEFORE delivery, so
// a hub restart re-sends whatever was not yet acknowledged.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeHubMessage, pushedConfig } from '../../shared/protocol/index.ts';
import type { Command, HubMessage, Window } from '../../shared/protocol/index.ts';
import type { HubStore, NodeRecord } from '../json-store.ts';

export interface AdminDeps {
  store: HubStore;
  bundlesDir: string;
  /** Base URL agents use to download bundles (the hub's own URL unless told otherwise). */
  publicUrl: () => string;
  /** Delivers to a connected agent; false when it is offline (it gets it on reconnect). */
  deliver: (fingerprint: string, m: HubMessage) => boolean;
  connected: (fingerprint: string) => boolean;
}

class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new HttpError(413, 'body too large');
    chunks.push(c as Buffer);
  }
  if (!chunks.length) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
    return v;
  } catch {
    throw new HttpError(400, 'body must be a JSON object');
  }
}

function summary(n: NodeRecord, online: boolean) {
  return {
    fingerprint: n.fingerprint, deviceId: n.deviceId, status: n.status, online, groups: n.groups,
    agentVersion: n.agentVersion, lastSeen: n.lastSeen, ackedSeq: n.ackedSeq, reports: n.reports,
    deployment: n.deployment ? { id: n.deployment.id, state: n.deployment.state, progress: n.deployment.progress, result: n.deployment.outcome?.result ?? null } : null,
    outstanding: n.outstanding.map((c) => ({ id: c.id, type: c.type })),
  };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export function createAdmin(d: AdminDeps) {
  const targets = (b: Record<string, unknown>): NodeRecord[] => {
    let nodes: NodeRecord[];
    if (typeof b.node === 'string') nodes = d.store.find(b.node);
    else if (typeof b.group === 'string') nodes = Object.values(d.store.state.nodes).filter((n) => n.groups.includes(b.group as string));
    else throw new HttpError(400, 'give "node" (fingerprint, prefix or device id) or "group"');
    if (!nodes.length) throw new HttpError(404, 'no such node or empty group');
    return nodes;
  };

  const issue = async (nodes: NodeRecord[], make: (n: NodeRecord) => Command) => {
    const issued = nodes.filter((n) => n.status === 'accepted').map((n) => {
      const c = make(n);
      encodeHubMessage(c); // validates: the hub never sends what an agent would refuse
      n.outstanding.push(c);
      return { node: n.fingerprint, c };
    });
    await d.store.persist();
    return issued.map(({ node, c }) => ({ node, id: c.id, type: c.type, delivered: d.deliver(node, c) }));
  };

  const routes: Record<string, (b: Record<string, unknown>) => Promise<unknown>> = {
    'GET /admin/nodes': async () => Object.values(d.store.state.nodes).map((n) => summary(n, d.connected(n.fingerprint))),
    'POST /admin/node': async (b) => targets(b),
    'POST /admin/accept': async (b) => {
      const nodes = targets(b);
      for (const n of nodes) {
        n.status = 'accepted';
        if (Array.isArray(b.groups)) n.groups = b.groups.filter((g): g is string => typeof g === 'string');
      }
      await d.store.persist();
      return nodes.map((n) => summary(n, d.connected(n.fingerprint)));
    },
    'POST /admin/preauthorize': async (b) => {
      const fps = Array.isArray(b.fingerprints) ? b.fingerprints.filter((f): f is string => typeof f === 'string' && /^[0-9a-f]{64}$/.test(f)) : [];
      d.store.state.preauthorized = [...new Set([...d.store.state.preauthorized, ...fps])];
      await d.store.persist();
      return { preauthorized: d.store.state.preauthorized.length };
    },
    'POST /admin/groups': async (b) => {
      const nodes = targets(b);
      if (!Array.isArray(b.groups)) throw new HttpError(400, '"groups": array of names');
      for (const n of nodes) n.groups = b.groups.filter((g): g is string => typeof g === 'string');
      await d.store.persist();
      return nodes.map((n) => summary(n, d.connected(n.fingerprint)));
    },
    'POST /admin/offer': async (b) => {
      const nodes = targets(b);
      const name = String(b.bundle ?? '');
      let size: number;
      try {
        const st = await stat(join(d.bundlesDir, name));
        if (!st.isFile() || name.includes('/') || name.includes('..')) throw new Error();
        size = st.size;
      } catch {
        throw new HttpError(404, `no bundle "${name}" in the bundles directory`);
      }
      const sha256 = await sha256File(join(d.bundlesDir, name));
      const deploymentId = typeof b.deploymentId === 'string' ? b.deploymentId : `d-${randomUUID().slice(0, 13)}`;
      // Window lists are checked by the codec when the offer is encoded (a bad one is a 400).
      const when = {
        ...(b.now === true ? { now: true as const } : {}),
        ...(Array.isArray(b.windows) ? { windows: b.windows as Window[] } : {}),
        ...(Array.isArray(b.installWindows) ? { installWindows: b.installWindows as Window[] } : {}),
      };
      return issue(nodes, () => ({
        v: 1, type: 'offer', id: `c-${randomUUID()}`, deploymentId,
        bundle: { url: `${d.publicUrl()}/bundles/${encodeURIComponent(name)}`, size, sha256 },
        version: String(b.version ?? ''), release: String(b.release ?? ''), ...when,
      }));
    },
    'POST /admin/command': async (b) => {
      const nodes = targets(b);
      const id = `c-${randomUUID()}`;
      switch (b.type) {
        case 'cancel':
          return issue(nodes, () => ({ v: 1, type: 'cancel', id, deploymentId: String(b.deploymentId ?? '') }));
        case 'reboot':
          return issue(nodes, () => ({ v: 1, type: 'reboot', id, ...(typeof b.reason === 'string' ? { reason: b.reason } : {}) }));
        case 'inventory.refresh':
          return issue(nodes, () => ({ v: 1, type: 'inventory.refresh', id }));
        case 'config.push': {
          let config;
          try {
            config = pushedConfig(b.config);
          } catch (err) {
            throw new HttpError(400, (err as Error).message);
          }
          return issue(nodes, () => ({ v: 1, type: 'config.push', id, config }));
        }
        case 'backoff': {
          // Not a command (no ack): tells connected nodes to go away for a while.
          const retryAfterS = Number(b.retryAfterS ?? 60);
          return nodes.map((n) => ({ node: n.fingerprint, delivered: d.deliver(n.fingerprint, { v: 1, type: 'backoff', id, retryAfterS }) }));
        }
        default:
          throw new HttpError(400, 'type: cancel | reboot | inventory.refresh | config.push | backoff');
      }
    },
    /** Re-sends an already issued command with the same id (the agent must answer "duplicate"). */
    'POST /admin/resend': async (b) => {
      const [node] = targets(b);
      const c = node!.acks.find((a) => a.ref === b.id) ? null : node!.outstanding.find((x) => x.id === b.id);
      const cmd = c ?? (b.command as Command | undefined);
      if (!cmd || cmd.id !== b.id) throw new HttpError(404, 'give the command id (and the command itself if it was already acknowledged)');
      encodeHubMessage(cmd);
      node!.outstanding = [...node!.outstanding.filter((x) => x.id !== cmd.id), cmd];
      await d.store.persist();
      return { delivered: d.deliver(node!.fingerprint, cmd) };
    },
  };

  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '');
    try {
      if (!loopback) throw new HttpError(403, 'admin is loopback-only');
      const route = routes[`${req.method} ${path}`];
      if (!route) throw new HttpError(404, 'no such admin endpoint');
      const out = await route(await body(req));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out, null, 2) + '\n');
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 400;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }) + '\n');
    }
  };
}
