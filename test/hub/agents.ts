// Real agent link code for hub tests: a HubClient (link, session, on-disk outbox) with test
// timings, its log lines collected, started and stopped in one call each.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClientOptions } from 'ws';
import { HubClient, type HubTimings } from '../../agent/hub/client.ts';
import { identityFromKey, type DeviceIdentity } from '../../agent/identity/device-identity.ts';
import { createLogger } from '../../agent/log/logger.ts';
import type { LinkStatus } from '../../agent/hub/connection.ts';
import type { HelloInfo } from '../../agent/hub/hello-info.ts';
import type { UpdatePort } from '../../agent/hub/ports.ts';

export const newIdentity = (deviceId: string) => identityFromKey(generateKeyPairSync('ed25519').privateKey, deviceId);

export interface TestAgent {
  client: HubClient;
  identity: DeviceIdentity;
  lines: Array<Record<string, unknown>>;
  /** Times (ms) at which the link became authenticated. */
  authenticatedAt: number[];
  stop(): Promise<void>;
}

export async function startAgent(o: {
  url: string; dir: string; deviceId?: string; identity?: DeviceIdentity; clientOptions?: ClientOptions;
  timings?: Partial<HubTimings>; describe?: () => Promise<HelloInfo>; random?: () => number;
  /** Takes offers (default: none, the agent refuses them as unsupported). */
  update?: UpdatePort;
}): Promise<TestAgent> {
  const identity = o.identity ?? newIdentity(o.deviceId ?? 'node');
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({ write(c, _e, cb) { for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  const authenticatedAt: number[] = [];
  const client = await HubClient.open({
    url: o.url, clientOptions: o.clientOptions ?? {}, identity, dir: join(o.dir, identity.fingerprint.slice(0, 12)), agentVersion: '0.1.0',
    update: o.update ?? null, rebooter: null, source: { inventory: async () => ({ 'os.name': 'test' }), location: async () => null },
    timings: {
      pingIntervalMs: 1000, authTimeoutMs: 5000, backoffBaseMs: 50, backoffCapMs: 500, stableAfterMs: 60_000,
      inventoryIntervalS: 3600, locationIntervalS: 3600, healthDeadlineMs: 1000, outboxMaxBytes: 1 << 20, outboxMaxCount: 100,
      ...o.timings,
    },
    log: createLogger({ level: 'debug', out }),
    onStatus: (s: LinkStatus) => {
      if (s === 'authenticated') authenticatedAt.push(Date.now());
    },
    ...(o.describe ? { describe: o.describe } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
  const ac = new AbortController();
  const running = client.run(ac.signal);
  return { client, identity, lines, authenticatedAt, stop: async () => (ac.abort(), await running) };
}
