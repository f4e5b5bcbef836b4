// Fleet simulation: N lightweight agents in one process (the real HubClient: link, session,
// outbox on disk), connected to the reference hub in its own process. The hub is killed and
// restarted; prints how the fleet's reconnects spread out (full jitter at work).
//
//   node scripts/fleet-sim.ts [--agents 1000] [--down-ms 2000] [--base-ms 1000] [--cap-ms 30000]
//
// Needs about 2 file descriptors per agent here and 1 in the hub: raise `ulimit -n` (e.g. to
// 8192) in the shell first if it is lower than 3 x agents.
import { parseArgs } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubClient } from '../agent/hub/client.ts';
import { identityFromKey } from '../agent/identity/device-identity.ts';
import { silentLogger } from '../agent/log/logger.ts';
import { MAX_FRAME_BYTES } from '../shared/protocol/index.ts';
import { startHubProcess, waitFor } from '../test/support/dev-hub.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    'down-ms': { type: 'string', default: '2000' },
    'base-ms': { type: 'string', default: '1000' },
    'cap-ms': { type: 'string', default: '30000' },
  },
});
const N = Number(values.agents);
const downMs = Number(values['down-ms']);
const out = (s: string) => process.stdout.write(s + '\n');

const dir = await mkdtemp(join(tmpdir(), 'fleet-sim-'));
const ac = new AbortController();
const hubState = join(dir, 'hub.db');
await mkdir(join(dir, 'bundles'));
let hub: Awaited<ReturnType<typeof startHubProcess>> | null = null;
try {
  const identities = Array.from({ length: N }, (_, i) => identityFromKey(generateKeyPairSync('ed25519').privateKey, `sim-${i}`));
  await writeFile(join(dir, 'fleet.txt'), identities.map((x) => x.fingerprint).join('\n'));
  hub = await startHubProcess({ store: hubState, bundles: join(dir, 'bundles'), args: ['--preauthorize-file', join(dir, 'fleet.txt')] });
  const port = hub.port;

  const authAt = new Array<number>(N).fill(0);
  let phase: 'initial' | 'restart' = 'initial';
  const reconnectAt: number[] = [];
  const clients: HubClient[] = [];
  for (let i = 0; i < N; i++) {
    clients.push(await HubClient.open({
      url: hub.agentUrl, clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false },
      identity: identities[i]!, dir: join(dir, `a${i}`), agentVersion: '0.1.0',
      update: null, rebooter: null,
      source: { inventory: async () => ({ 'sim.index': i }), location: async () => null },
      timings: {
        pingIntervalMs: 15_000, authTimeoutMs: 30_000, backoffBaseMs: Number(values['base-ms']), backoffCapMs: Number(values['cap-ms']),
        stableAfterMs: 60_000, inventoryIntervalS: 86_400, locationIntervalS: 86_400, healthDeadlineMs: 5_000,
        outboxMaxBytes: 1 << 20, outboxMaxCount: 1000,
      },
      log: silentLogger(),
      onStatus: (s) => {
        if (s !== 'authenticated') return;
        authAt[i] = Date.now();
        if (phase === 'restart') reconnectAt.push(Date.now());
      },
    }));
  }
  const t0 = Date.now();
  const runs = clients.map((c) => c.run(ac.signal));
  await waitFor('whole fleet connected', () => authAt.every((t) => t > 0), 120_000, 100);
  out(`fleet of ${N} connected in ${Date.now() - t0} ms (initial dial, no jitter on first attempt)`);
  await waitFor('initial inventory stored', () => clients.every((c) => c.outbox.pendingCount === 0), 60_000, 100);

  phase = 'restart';
  const killAt = Date.now();
  await hub.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, downMs));
  hub = await startHubProcess({ store: hubState, bundles: join(dir, 'bundles'), port });
  const upAt = Date.now();
  await waitFor('whole fleet reconnected', () => reconnectAt.length >= N, 600_000, 100);

  const times = reconnectAt.map((t) => t - killAt).sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]!;
  const perSecond = new Map<number, number>();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const [peakSec, peak] = [...perSecond.entries()].sort((a, b) => b[1] - a[1])[0]!;
  out(`hub killed, down ${upAt - killAt} ms (restart included), backoff base ${values['base-ms']} ms cap ${values['cap-ms']} ms`);
  out(`reconnect time after the kill: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${times.at(-1)} ms`);
  out(`peak: ${peak} agents (${((100 * peak) / N).toFixed(1)}% of the fleet) re-authenticated in second ${peakSec} after the kill`);
  out(`per-second histogram: ${[...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}s:${n}`).join(' ')}`);
} finally {
  ac.abort();
  await hub?.stop('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
