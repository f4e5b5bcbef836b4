// The hub's periodic chores: say this process is alive (other processes reap silent ones and
// release the nodes they held), prune history by age, and keep the fleet counts admission
// control sizes its hints from.
import type { HubContext } from './context.ts';

export interface FleetCounts {
  accepted: number;
  connected: number;
}

export class HubTimers {
  #ctx: HubContext;
  #timers: NodeJS.Timeout[] = [];
  fleet: FleetCounts = { accepted: 0, connected: 0 };
  onFleet: ((f: FleetCounts) => void) | null = null;

  constructor(ctx: HubContext) {
    this.#ctx = ctx;
  }

  async refreshFleet(): Promise<void> {
    const rows = await this.#ctx.store.countNodes({ status: 'accepted' }, 'connected');
    let accepted = 0;
    let connected = 0;
    for (const r of rows) {
      accepted += r.count;
      if (r.key === true) connected += r.count;
    }
    this.fleet = { accepted, connected };
    this.onFleet?.(this.fleet);
  }

  start(): void {
    const { store, hubId, log, now } = this.#ctx;
    const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch((err) => log.warn(`${what} failed`, { err })), ms);
      t.unref();
      this.#timers.push(t);
    };
    every(2_000, 'fleet count', () => this.refreshFleet());
    every(5_000, 'hub heartbeat', () => store.hubAlive(hubId, {}, now()));
    every(15_000, 'reaping silent hub processes', () => store.reapHubs(now() - 30_000));
    every(10 * 60_000, 'history pruning', () => store.pruneHistory(now()));
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }
}
