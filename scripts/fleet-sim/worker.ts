// One worker process of the fleet simulator: a slice of the fleet, each node the REAL agent link
// (HubClient: websocket link, hello/auth session, durable outbox, command ledger) with production
// timings, an inventory source and a simulated update service (accepts offers, reports writing →
// health_checking → success, or rolled-back on the nodes chosen to fail). Talks to the parent
// (scripts/fleet-sim/fleet.ts) over the IPC channel; events are batched to keep IPC cheap.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HubClient } from '../../agent/hub/client.ts';
import { identityFromKey } from '../../agent/identity/device-identity.ts';
import type { Logger } from '../../agent/log/logger.ts';
import { MAX_FRAME_BYTES } from '../../shared/protocol/index.ts';
import { SimUpdate, type SimRunning } from './sim-update.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

const send = (m: FromWorker) => process.send!(m);
let init: WorkerInit;
const clients: HubClient[] = [];
const updates: SimUpdate[] = [];
const inventorySerial: number[] = [];
const fingerprints: string[] = [];
const ac = new AbortController();
const sentAt = new Map<number, Map<number, number>>(); // node → seq → when appended
let batch: { auths: Array<[number, number]>; hubAuths: Array<[number, number]>; lat: number[]; offers: Array<[number, string]>; outcomes: Array<[number, string, string]> } = { auths: [], hubAuths: [], lat: [], offers: [], outcomes: [] };

// Why links went down and how long they then waited (the agent's own log line, counted): shows
// whether stragglers after a restart are the hub's backoff hints or the agent's exponential backoff.
const redials = new Map<string, { count: number; maxDelayMs: number }>();
const countingLog: Logger = {
  debug() {}, warn() {}, error() {}, child: () => countingLog,
  info(msg, f) {
    if (msg !== 'hub link down, redialling' || !f) return;
    const why = `${String(f.end)}${f.reason ? `: ${String(f.reason).replace(/\d+/g, 'N').slice(0, 60)}` : ''}`;
    const r = redials.get(why) ?? { count: 0, maxDelayMs: 0 };
    r.count++;
    r.maxDelayMs = Math.max(r.maxDelayMs, Number(f.delayMs) || 0);
    redials.set(why, r);
  },
};

setInterval(() => {
  if (!batch.auths.length && !batch.hubAuths.length && !batch.lat.length && !batch.offers.length && !batch.outcomes.length) return;
  send({ type: 'events', ...batch });
  batch = { auths: [], hubAuths: [], lat: [], offers: [], outcomes: [] };
}, 200).unref();

async function open(i: number): Promise<void> {
  const g = init.first + i;
  const deviceId = `sim-${String(g).padStart(5, '0')}`;
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey, deviceId);
  fingerprints[i] = identity.fingerprint;
  const dir = join(init.dir, `a${g}`);
  await mkdir(dir, { recursive: true });
  let running: SimRunning = { version: init.running.version, release: init.running.release, slot: 'A' };
  const update = new SimUpdate({ fail: init.failing.includes(g), failVersion: init.failVersion, stepMs: init.stepMs, onRunning: (r) => (running = r) });
  update.onEvent((e) => {
    if (e.type === 'outcome') batch.outcomes.push([g, e.deploymentId, e.result]);
  });
  update.onOffer = (d) => batch.offers.push([g, d]);
  inventorySerial[i] = 0;
  const c = await HubClient.open({
    url: init.url, clientOptions: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false },
    identity, dir, agentVersion: '0.1.0', update, rebooter: null,
    source: {
      // A realistic inventory's size, one value that changes on each refresh (a diff report).
      inventory: async () => ({ ...init.inventory, 'sim.index': g, 'sim.serial': inventorySerial[i]! }),
      location: async () => null,
    },
    timings: { ...init.timings },
    // The hub's time in its acceptance: when the hub sent it. Thousands of nodes share this
    // worker's event loop, which can handle a second's acceptances late and in one bunch.
    timeFloor: { raiseFromHub: async (t: number) => void batch.hubAuths.push([g, t]) },
    log: countingLog,
    onStatus: (s) => {
      if (s === 'authenticated') batch.auths.push([g, Date.now()]);
    },
    describe: async () => ({ compatible: [init.compatible], site: { id: `SITE-${g % 97}` }, running }),
  });
  // report → ack latency: from the report's append (it is sent right away) to the hub's ack.
  const times = new Map<number, number>();
  sentAt.set(g, times);
  c.outbox.onAppend((r) => times.set(r.seq, performance.now()));
  const ack = c.outbox.ack.bind(c.outbox);
  c.outbox.ack = (upTo: number) => {
    const t = performance.now();
    for (const [seq, at] of times) {
      if (seq > upTo) continue;
      batch.lat.push(t - at);
      times.delete(seq);
    }
    return ack(upTo);
  };
  clients[i] = c;
  updates[i] = update;
}

process.on('message', (m: ToWorker) => {
  void (async () => {
    switch (m.type) {
      case 'init': {
        init = m.init;
        for (let i = 0; i < init.count; i++) await open(i);
        send({ type: 'ready', fingerprints });
        break;
      }
      case 'run':
        clients.forEach((c, i) => {
          const start = () => void c.run(ac.signal);
          if (!m.spreadMs) start();
          else setTimeout(start, ((i + Math.random()) / clients.length) * m.spreadMs).unref();
        });
        break;
      case 'refresh': {
        // Every node sends one changed inventory at a random time within the spread.
        for (let i = 0; i < clients.length; i++) {
          setTimeout(() => {
            inventorySerial[i]!++;
            void clients[i]!.reporter.refreshInventory();
          }, Math.random() * m.spreadMs).unref();
        }
        break;
      }
      case 'stats':
        send({
          type: 'stats', pending: clients.reduce((a, c) => a + c.outbox.pendingCount, 0), unackedTimes: [...sentAt.values()].reduce((a, t) => a + t.size, 0),
          redials: [...redials].map(([why, r]) => [why, r.count, r.maxDelayMs]),
        });
        break;
      case 'stop':
        ac.abort();
        await new Promise((r) => setTimeout(r, 200));
        process.exit(0);
    }
  })().catch((err) => {
    process.stderr.write(`fleet worker: ${(err as Error).stack}\n`);
    process.exit(1);
  });
});
