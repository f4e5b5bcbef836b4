// The fleet simulator's IPC messages between the parent (fleet.ts) and its workers (worker.ts).
import type { HubTimings } from '../../agent/hub/client.ts';
import type { Inventory } from '../../shared/protocol/index.ts';

export interface WorkerInit {
  url: string;
  /** Global index of this worker's first node, and how many it runs. */
  first: number;
  count: number;
  /** Agent state directories go under here (a tmpfs keeps the simulator's own disk work out of the figures). */
  dir: string;
  /** Global indices of the nodes whose install fails its health check (→ rolled back). */
  failing: number[];
  /** They fail only on this version (null: on any). */
  failVersion: string | null;
  /** Simulated update: time per step (offer → writing → health_checking → outcome). */
  stepMs: number;
  compatible: string;
  running: { version: string; release: number };
  inventory: Inventory;
  timings: HubTimings;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'run'; spreadMs: number }
  | { type: 'refresh'; spreadMs: number }
  | { type: 'stats' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; fingerprints: string[] }
  | {
      type: 'events';
      /** [node, ms epoch] of each authentication as the worker handled it. */
      auths: Array<[number, number]>;
      /** [node, ms epoch] the hub sent each acceptance (its auth.result hubTime: what a node with a CPU of its own sees). */
      hubAuths: Array<[number, number]>;
      /** report → ack latencies (ms). */
      lat: number[];
      /** [node, deploymentId] of each offer accepted. */
      offers: Array<[number, string]>;
      /** [node, deploymentId, result]. */
      outcomes: Array<[number, string, string]>;
    }
  | {
      type: 'stats';
      pending: number;
      unackedTimes: number;
      /** [why the link went down, how often, the longest wait then chosen (ms)], since the start. */
      redials: Array<[string, number, number]>;
    };
