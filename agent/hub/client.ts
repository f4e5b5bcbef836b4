// Assembles the agent side of the hub link from plain parts: identity, outbox, command ledger,
// session, link, reporter. app.ts builds it from Config; the fleet simulator builds a thousand.
import type WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { join } from 'node:path';
import type { DeviceIdentity } from '../identity/device-identity.ts';
import type { Logger } from '../log/logger.ts';
import type { PushedConfig } from '../../shared/protocol/messages.ts';
import { Outbox } from './outbox.ts';
import { CommandLedger } from './command-ledger.ts';
import { CommandDispatcher } from './commands.ts';
import { HubSession } from './session.ts';
import { HubLink, type LinkStatus } from './connection.ts';
import { Reporter } from './reporter.ts';
import { hubReachable } from './health.ts';
import { readPushedConfig, writePushedConfig } from './pushed-config.ts';
import type { HealthCheck, Rebooter, ReportSource, UpdateService } from './ports.ts';

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

export interface HubClientOptions {
  url: string;
  clientOptions: ClientOptions;
  identity: DeviceIdentity;
  /** The hub module's own directory under the state dir (outbox/, commands.json, hub-config.json). */
  dir: string;
  agentVersion: string;
  update: UpdateService | null;
  rebooter: Rebooter | null;
  source: ReportSource | null;
  timings: HubTimings;
  log: Logger;
  onStatus?: (s: LinkStatus) => void;
  random?: () => number;
}

export class HubClient {
  readonly link: HubLink;
  readonly reporter: Reporter;
  readonly outbox: Outbox;
  /** For the update machine's post-boot checks. */
  readonly health: HealthCheck;

  private constructor(link: HubLink, reporter: Reporter, outbox: Outbox, health: HealthCheck) {
    this.link = link;
    this.reporter = reporter;
    this.outbox = outbox;
    this.health = health;
  }

  static async open(o: HubClientOptions): Promise<HubClient> {
    const log = o.log.child('hub');
    const outbox = await Outbox.open(join(o.dir, 'outbox'), { maxBytes: o.timings.outboxMaxBytes, maxCount: o.timings.outboxMaxCount }, log);
    const ledger = await CommandLedger.open(o.dir, log);
    const reporter = new Reporter({
      append: (b) => outbox.append(b), source: o.source, update: o.update, log,
      inventoryIntervalS: o.timings.inventoryIntervalS, locationIntervalS: o.timings.locationIntervalS,
    });
    const pushed = await readPushedConfig(o.dir, log);
    const apply = (c: PushedConfig) => {
      if (c.reportIntervals) reporter.setIntervals(c.reportIntervals);
      o.update?.configure?.(c);
    };
    const commands = new CommandDispatcher({
      ledger, update: o.update, rebooter: o.rebooter, log,
      refreshInventory: () => reporter.refreshInventory(),
      report: (b) => outbox.append(b),
      onConfig: async (c) => {
        // Persist first: the ack promises the setting survives a restart.
        await writePushedConfig(o.dir, c);
        apply(c);
      },
    });
    const session = (ws: WebSocket) => new HubSession(ws, {
      identity: o.identity, outbox, commands, log, agentVersion: o.agentVersion, capabilities: capabilities(o),
      authTimeoutMs: o.timings.authTimeoutMs, window: 32,
    });
    const link = new HubLink({
      url: o.url, clientOptions: o.clientOptions, session,
      backoffBaseMs: o.timings.backoffBaseMs, backoffCapMs: o.timings.backoffCapMs, stableAfterMs: o.timings.stableAfterMs,
      pingIntervalMs: o.timings.pingIntervalMs, log, ...(o.onStatus ? { onStatus: o.onStatus } : {}), ...(o.random ? { random: o.random } : {}),
    });
    const client = new HubClient(link, reporter, outbox, hubReachable(link, o.timings.healthDeadlineMs, o.timings.healthDeadlineMs));
    if (pushed) apply(pushed);
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
