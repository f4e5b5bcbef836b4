// Assembles the agent side of the hub link from plain parts: identity, outbox, command ledger,
// session, link, reporters. app.ts builds it from Config; the fleet simulator builds a thousand.
// Inventory: the inventory reporter (hash, diff, acknowledged base on disk in `dir`) journals
// through the outbox; the hub's cumulative acks mark its reports acknowledged, and the auth
// result says which inventory the hub holds and what time it is (time floor).
import type WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { join } from 'node:path';
import type { DeviceIdentity } from '../identity/device-identity.ts';
import type { Logger } from '../log/logger.ts';
import type { PushedConfig } from '../../shared/protocol/messages.ts';
import { Outbox } from './outbox.ts';
import { hubHostOf } from '../../shared/protocol/limits.ts';
import { CommandLedger } from './command-ledger.ts';
import { CommandDispatcher } from './commands.ts';
import { CommandLimiter, type LimitedCommand, type RateRule } from './command-limits.ts';
import { HubSession } from './session.ts';
import { HubLink, type LinkStatus } from './connection.ts';
import { Reporter } from './reporter.ts';
import { InventoryReporter, type InventoryReport } from '../inventory/reporter.ts';
import { AckStore } from '../inventory/ack-store.ts';
import type { Report } from '../../shared/protocol/messages.ts';
import type { AuthInfo } from './session.ts';
import { hubReachable } from './health.ts';
import type { HelloInfo } from './hello-info.ts';
import { readPushedConfig, writePushedConfig } from './pushed-config.ts';
import type { ReachabilityCheck, Rebooter, ReportSource, UpdatePort } from './ports.ts';

/** What this node can do, told to the hub in hello: only the parts that are wired in. */
export function capabilities(o: Pick<HubClientOptions, 'update' | 'rebooter' | 'source'>): string[] {
  return [...(o.source ? ['inventory', 'location'] : []), ...(o.update ? ['update'] : []), ...(o.rebooter ? ['reboot'] : []), 'config'];
}

export interface HubTimings {
  pingIntervalMs: number;
  authTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  stableAfterMs: number;
  inventoryIntervalS: number;
  locationIntervalS: number;
  healthDeadlineMs: number;
  outboxMaxBytes: number;
  outboxMaxCount: number;
}

/** The trusted time floor as the hub link needs it (agent/time/floor.ts implements it). */
export interface HubTimeSink {
  /** Hub time from an authenticated session; the floor decides how far to trust it. */
  raiseFromHub(hubTimeMs: number): Promise<unknown>;
}

export interface HubClientOptions {
  url: string;
  clientOptions: ClientOptions;
  identity: DeviceIdentity;
  /** The hub module's own directory under the state dir (outbox/, commands.json, hub-config.json). */
  dir: string;
  agentVersion: string;
  update: UpdatePort | null;
  rebooter: Rebooter | null;
  source: ReportSource | null;
  /** Raised from the hub's time at each authentication; null/absent: hub time is ignored. */
  timeFloor?: HubTimeSink | null;
  timings: HubTimings;
  log: Logger;
  onStatus?: (s: LinkStatus) => void;
  random?: () => number;
  /** compatible / site / running for hello (agent/hub/hello-info.ts); absent: none sent. */
  describe?: () => Promise<HelloInfo>;
  /** Replaces some of the documented command rate limits (simulators, tests); absent: COMMAND_LIMITS. */
  commandLimits?: Partial<Record<LimitedCommand, RateRule>>;
}

export class HubClient {
  readonly link: HubLink;
  readonly reporter: Reporter;
  /** null when there is no inventory source. */
  readonly inventory: InventoryReporter | null;
  readonly outbox: Outbox;
  /** For the update machine's post-boot checks. */
  readonly health: ReachabilityCheck;

  private constructor(link: HubLink, reporter: Reporter, inventory: InventoryReporter | null, outbox: Outbox, health: ReachabilityCheck) {
    this.link = link;
    this.reporter = reporter;
    this.inventory = inventory;
    this.outbox = outbox;
    this.health = health;
  }

  static async open(o: HubClientOptions): Promise<HubClient> {
    const log = o.log.child('hub');
    const outbox = await Outbox.open(join(o.dir, 'outbox'), { maxBytes: o.timings.outboxMaxBytes, maxCount: o.timings.outboxMaxCount }, log);
    const ledger = await CommandLedger.open(o.dir, log);
    const limits = await CommandLimiter.open(o.dir, log, o.commandLimits ? { rules: o.commandLimits } : {});
    const source = o.source;
    const inventory = source
      ? new InventoryReporter({
          collect: () => source.inventory(AbortSignal.timeout(5 * 60_000)),
          store: new AckStore(o.dir),
          send: async (r) => void (await outbox.append(r)),
          logger: log.child('inventory'),
        })
      : null;
    const acks = inventory ? await trackInventoryAcks(outbox, inventory, log) : null;
    const reporter = new Reporter({
      append: (b) => outbox.append(b), source: o.source, inventory, update: o.update, log,
      inventoryIntervalS: o.timings.inventoryIntervalS, locationIntervalS: o.timings.locationIntervalS,
    });
    const pushed = await readPushedConfig(o.dir, log);
    const apply = (c: PushedConfig) => {
      if (c.reportIntervals) reporter.setIntervals(c.reportIntervals);
      o.update?.configure?.(c);
    };
    const commands = new CommandDispatcher({
      ledger, update: o.update, rebooter: o.rebooter, log, limits,
      refreshInventory: () => reporter.refreshInventory(),
      report: (b) => outbox.append(b),
      outboxFull: () => outbox.full,
      onConfig: async (c) => {
        // Refused before it is stored (the ack carries the code): a push this node cannot use
        // changes nothing, now or after a restart.
        o.update?.validate?.(c);
        // Persist first: the ack promises the setting survives a restart.
        await writePushedConfig(o.dir, c);
        apply(c);
      },
    });
    const session = (ws: WebSocket) => new HubSession(ws, {
      identity: o.identity, outbox, commands, log, agentVersion: o.agentVersion, capabilities: capabilities(o), hubHost: hubHostOf(o.url),
      authTimeoutMs: o.timings.authTimeoutMs, window: 32, ...(o.describe ? { describe: o.describe } : {}),
      ...(acks ? { onAcked: acks } : {}),
      onAuthenticated: (a) => void onAuthenticated(a),
    });
    let firstSession = true;
    const onAuthenticated = async (a: AuthInfo) => {
      if (a.hubTime !== undefined && o.timeFloor) {
        o.timeFloor.raiseFromHub(a.hubTime).catch((err) => log.warn('hub time not taken into the time floor', { err }));
      }
      if (!inventory) return;
      try {
        // Full when the hub holds something else; otherwise a diff or nothing, once per process
        // (later connects leave it to the schedule and to the hub's refresh).
        const inStep = await inventory.hubHolds(a.inventoryHash ?? null);
        log.debug('inventory compared with the hub', { inStep, hub: a.inventoryHash ?? null });
        if (inStep && !firstSession) return;
        firstSession = false;
        await inventory.request('connect', { full: !inStep });
      } catch (err) {
        log.warn('inventory on connect failed', { err });
      }
    };
    const link = new HubLink({
      url: o.url, clientOptions: o.clientOptions, session,
      backoffBaseMs: o.timings.backoffBaseMs, backoffCapMs: o.timings.backoffCapMs, stableAfterMs: o.timings.stableAfterMs,
      pingIntervalMs: o.timings.pingIntervalMs, log, ...(o.onStatus ? { onStatus: o.onStatus } : {}), ...(o.random ? { random: o.random } : {}),
    });
    const client = new HubClient(link, reporter, inventory, outbox, hubReachable(link, o.timings.healthDeadlineMs, o.timings.healthDeadlineMs));
    // Only the link's own part: the update controller loads the stored push itself when it opens.
    if (pushed?.reportIntervals) reporter.setIntervals(pushed.reportIntervals);
    return client;
  }

  /** Runs the reporter and the link until `signal` aborts, then closes the outbox. */
  async run(signal: AbortSignal): Promise<void> {
    this.reporter.start(signal);
    try {
      await this.link.run(signal);
    } finally {
      await this.outbox.close();
    }
  }
}

function bodyOf(r: Extract<Report, { type: 'inventory' }>): InventoryReport {
  const { v: _v, id: _id, seq: _seq, ...body } = r;
  return body;
}

/**
 * Inventory reports journaled and not yet acknowledged, oldest first (read back from the outbox
 * after a restart). Returns the session's onAcked: every report the hub's cumulative ack covers
 * is marked acknowledged in order, so its hash becomes the durable diff base.
 */
async function trackInventoryAcks(outbox: Outbox, inventory: InventoryReporter, log: Logger): Promise<(upTo: number) => void> {
  const unacked = outbox.pendingAfter(outbox.acked).filter((r) => r.type === 'inventory');
  await inventory.restore(unacked.map(bodyOf));
  outbox.onAppend((r) => {
    if (r.type === 'inventory') unacked.push(r);
  });
  return (upTo) => {
    // On a failed write the durable base stays the older one (the hub then asks for a full one).
    while (unacked.length && unacked[0]!.seq <= upTo) void inventory.markAcknowledged(bodyOf(unacked.shift()!)).catch((err) => log.warn('cannot keep the acknowledged inventory', { err }));
  };
}
