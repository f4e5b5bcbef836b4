// Fixture for tests of the real agent process against the reference hub: a hub process serving
// one bundle (app-2.bundle), and nodes on file slots under the boot simulator, enrolled
// (pre-authorised) and configured for it. Everything is removed by dispose().
import { copyFile, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHubProcess, waitFor, type HubProcess } from '../../support/dev-hub.ts';
import { spawnAgent, type AgentProcess } from '../hub/agent-process.ts';
import { TestNode } from '../../support/test-node.ts';
import { makeKit } from '../../support/bundle-kit.ts';
import { loadOrCreateIdentity } from '../../../agent/identity/device-identity.ts';

export const BIN = resolve(import.meta.dirname, '../../../bin/outpost.js');

export interface EnrolledNode {
  readonly node: TestNode;
  readonly deviceId: string;
  /** The hub's detail record of this node. */
  detail<T>(): Promise<T>;
}

export interface HubFleet {
  readonly dir: string;
  readonly kit: Awaited<ReturnType<typeof makeKit>>;
  readonly hub: HubProcess;
  /** Every agent started here, stopped by dispose(). */
  readonly agents: AgentProcess[];
  /** A node with the hub in its config, its key pre-authorised; `edit` adjusts its config first. */
  node(deviceId: string, opts?: { healthChecks?: string[][]; edit?: (config: Record<string, any>, node: TestNode) => void }): Promise<EnrolledNode>;
  /** Starts `outpost run` for the node and waits until the hub lists it online and accepted. */
  start(n: EnrolledNode): Promise<AgentProcess>;
  dispose(): Promise<void>;
}

export async function startHubFleet(prefix: string): Promise<HubFleet> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const kit = await makeKit({ imageSize: 1 << 20, blockSize: 64 << 10 });
  await mkdir(join(dir, 'bundles'));
  await copyFile(kit.bundle, join(dir, 'bundles', 'app-2.bundle'));
  const hub = await startHubProcess({ store: join(dir, 'hub.db'), bundles: join(dir, 'bundles') });
  const nodes: TestNode[] = [];
  const agents: AgentProcess[] = [];
  return {
    dir, kit, hub, agents,
    async node(deviceId, opts = {}) {
      const node = await TestNode.create({ kit, slotSize: 2 << 20, ...(opts.healthChecks ? { healthChecks: opts.healthChecks } : {}) });
      nodes.push(node);
      const id = await loadOrCreateIdentity(join(node.stateDir, 'identity'), deviceId);
      const config = JSON.parse(await readFile(node.configPath, 'utf8'));
      config.hub = { url: hub.agentUrl, deviceId, backoffBaseMs: 100, backoffCapMs: 1000, pingIntervalMs: 10_000, authTimeoutMs: 30_000, healthDeadlineMs: 30_000 };
      config.inventory = { scriptsDir: null };
      config.location = { gpsd: false };
      opts.edit?.(config, node);
      await writeFile(node.configPath, JSON.stringify(config, null, 2));
      await hub.admin('POST', '/admin/preauthorize', { fingerprints: [id.fingerprint] });
      return { node, deviceId, detail: async <T>() => (await hub.admin<T[]>('POST', '/admin/node', { node: deviceId }))[0]! };
    },
    async start(n) {
      const agent = spawnAgent([BIN, 'run', '--config', n.node.configPath]);
      agents.push(agent);
      type Summary = { deviceId: string; online: boolean; status: string };
      await waitFor(`${n.deviceId} online`, async () => {
        if (agent.proc.exitCode !== null) throw new Error(`agent exited ${agent.proc.exitCode}: ${JSON.stringify(agent.logs().slice(-5))}`);
        return (await hub.admin<{ nodes: Summary[] }>('GET', '/admin/nodes')).nodes.some((x) => x.deviceId === n.deviceId && x.online && x.status === 'accepted');
      }, 90_000);
      return agent;
    },
    async dispose() {
      for (const a of agents) await a.stop('SIGKILL');
      await hub.stop();
      for (const n of nodes) await n.dispose();
      await kit.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
