// An in-process HubClient for tests, running: fast timings (each one overridable), no update
// service, rebooter or report source unless given, its debug log kept as parsed lines. stop()
// aborts the client and waits until its run has ended.
import { Writable } from 'node:stream';
import type { HubClientOptions, HubTimings } from '../../agent/hub/client.ts';
import { HubClient } from '../../agent/hub/client.ts';
import { createLogger } from '../../agent/log/logger.ts';

export const TEST_TIMINGS: HubTimings = {
  pingIntervalMs: 1000, authTimeoutMs: 3000, backoffBaseMs: 50, backoffCapMs: 200, stableAfterMs: 60_000,
  inventoryIntervalS: 3600, locationIntervalS: 3600, healthDeadlineMs: 1000, outboxMaxBytes: 1 << 20, outboxMaxCount: 100,
};

export type TestClientOptions = Pick<HubClientOptions, 'url' | 'identity' | 'dir'> &
  Partial<Omit<HubClientOptions, 'url' | 'identity' | 'dir' | 'timings'>> & { timings?: Partial<HubTimings> };

export interface RunningClient {
  client: HubClient;
  /** The client's log lines, parsed (empty when the options bring their own log). */
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startTestClient(o: TestClientOptions): Promise<RunningClient> {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } });
  const client = await HubClient.open({
    clientOptions: {}, agentVersion: '0.1.0', update: null, rebooter: null, source: null, log: createLogger({ level: 'debug', out }),
    ...o,
    timings: { ...TEST_TIMINGS, ...o.timings },
  });
  const ac = new AbortController();
  const running = client.run(ac.signal);
  return { client, lines, stop: async () => (ac.abort(), await running) };
}
