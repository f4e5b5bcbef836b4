// Idle traffic of a quiet hub link, measured at the hub's TCP sockets (TLS records included,
// TCP/IP headers not). N real HubClients on wss with a scaled heartbeat; the bytes of one ping
// cycle are the same at any interval, so a day is cycles x bytes. Reference in the same run: the
// old scheme (agent ping every 20 s AND hub ping every 30 s), from the same sockets.
//   node scripts/bench-idle-link.ts [--agents 50] [--cycles 20]
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub } from '../test/support/hub-in-process.ts';
import { startAgent, type TestAgent } from '../test/hub/agents.ts';
import { waitFor } from '../test/support/dev-hub.ts';
import { buildClientOptions } from '../agent/net/ws-transport.ts';

const { values } = parseArgs({ options: { agents: { type: 'string', default: '50' }, cycles: { type: 'string', default: '20' } } });
const N = Number(values.agents);
const CYCLES = Number(values.cycles);
const PING_MS = 250;
const out = (s: string) => process.stdout.write(s + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'bench-idle-'));
await mkdir(join(dir, 'bundles'));
const cert = join(dir, 'hub.crt');
const key = join(dir, 'hub.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
  '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
const t = await startTestHub(dir, { acceptAll: true, tls: { cert: await readFile(cert), key: await readFile(key) }, linkTimeoutMs: 60_000 });
const sockets: Socket[] = [];
// The raw TCP sockets under TLS: their counters are what crosses the wire above TCP.
t.hub.agentServer.on('connection', (s: Socket) => sockets.push(s));
const agents: TestAgent[] = [];
try {
  const clientOptions = await buildClientOptions({ url: t.hub.agentUrl, caFile: cert, certFile: null, keyFile: null, proxy: null, handshakeTimeoutMs: 10_000 });
  for (let i = 0; i < N; i++) agents.push(await startAgent({ url: t.hub.agentUrl, dir, deviceId: `idle-${i}`, clientOptions, timings: { pingIntervalMs: PING_MS } }));
  await waitFor('all linked and drained', () => agents.every((a) => a.client.link.isAuthenticated() && a.client.outbox.pendingCount === 0), 120_000, { everyMs: 100 });
  const total = () => sockets.reduce((s, x) => s + x.bytesRead + x.bytesWritten, 0);
  const window = async (ms: number) => {
    const a = total();
    await new Promise((r) => setTimeout(r, ms));
    return (total() - a) / N / (ms / PING_MS);
  };
  // Agent pings only (the new scheme).
  const agentCycle: number[] = [];
  for (let i = 0; i < 5; i++) agentCycle.push(await window((CYCLES * PING_MS) / 5));
  // Hub pings too, at the same interval: the extra is one hub ping + agent pong per cycle.
  const wss = [...(t.hub.ctx.links.all() as unknown as Array<{ ws: { ping(): void } }>)];
  const timer = setInterval(() => wss.forEach((l) => l.ws.ping()), PING_MS);
  const both: number[] = [];
  for (let i = 0; i < 5; i++) both.push(await window((CYCLES * PING_MS) / 5));
  clearInterval(timer);
  const ping = median(agentCycle);
  const hubPing = Math.max(0, median(both) - ping);
  const perDay = 1440 * ping; // one agent ping a minute
  const oldPerDay = 4320 * ping + 2880 * hubPing; // agent every 20 s + hub every 30 s
  out(`${N} nodes over wss, measured at the hub's TCP sockets (TLS records included, TCP/IP headers not)`);
  out(`one agent ping + pong: ${ping.toFixed(1)} B; one hub ping + pong: ${hubPing.toFixed(1)} B (medians of 5 windows)`);
  out(`idle bytes per node per day: ${(perDay / 1024).toFixed(1)} KiB (ping every 60 s, the hub never pings)`);
  out(`reference, old scheme (agent 20 s + hub 30 s): ${(oldPerDay / 1024).toFixed(1)} KiB/day; ratio ${(perDay / oldPerDay).toFixed(2)}`);
} finally {
  await Promise.all(agents.map((a) => a.stop()));
  await t.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
}
