// Builds one inventory: every probe, the slot provider and the custom scripts run in parallel,
// each bounded by its own timeout; a failure lands in `errors` and never fails the collection.
import { AGENT_VERSION } from '../version.ts';
import type { Clock, CommandRunner } from '../platform/types.ts';
import { SYSTEM_PROBES, type Probe, type ProbeResult } from './system-probes.ts';
import { runCustomScripts } from './custom-scripts.ts';
import { withTimeout } from './timeout.ts';
import { toJson } from './canonical-json.ts';
import type { Inventory, JsonObject, SourceError } from './types.ts';
import type { TrustedTime } from '../time/floor.ts';
import { isErrorCode } from '../../shared/error-codes.ts';

export interface InventoryCollectorOptions {
  /** Per systeminformation call. */
  callTimeoutMs: number;
  /** Directory of custom inventory scripts; null: none. */
  scriptsDir: string | null;
  scriptTimeoutMs: number;
  runner: CommandRunner;
  /** Slot versions/releases, good/bad, booted slot: supplied by the update part via app.ts. */
  slots?: () => Promise<unknown>;
  /** Timestamps `volatile.collectedAt`; pass the trusted-time clock. */
  clock?: Clock;
  /** The trusted time floor's view: a clock behind the floor is reported (a fact that flips). */
  trustedTime?: () => TrustedTime;
  /** Defaults to the targeted systeminformation calls. */
  probes?: readonly Probe[];
}

function errorOf(err: unknown): SourceError {
  const code = (err as { code?: unknown }).code;
  return {
    code: isErrorCode(code) ? code : 'E_INVENTORY_SOURCE',
    message: err instanceof Error ? err.message : String(err),
  };
}

export class InventoryCollector {
  readonly #opts: InventoryCollectorOptions;
  /** Successful results of boot-static probes: they cannot change until the next boot. */
  readonly #static = new Map<string, ProbeResult>();

  constructor(opts: InventoryCollectorOptions) {
    this.#opts = opts;
  }

  async collect(): Promise<Inventory> {
    const o = this.#opts;
    const facts: JsonObject = {};
    const volatile: JsonObject = {};
    const errors: Record<string, SourceError> = {};

    const probes = (o.probes ?? SYSTEM_PROBES).map(async (p) => {
      try {
        const r = this.#static.get(p.name) ?? (await withTimeout(() => p.run(), o.callTimeoutMs, p.name));
        if (p.bootStatic) this.#static.set(p.name, r);
        Object.assign(facts, r.facts ? toJson(r.facts) : {});
        Object.assign(volatile, r.volatile ? toJson(r.volatile) : {});
      } catch (err) {
        errors[p.name] = errorOf(err);
      }
    });
    const slots = o.slots
      ? withTimeout(o.slots, o.callTimeoutMs, 'slots').then(
          (s) => void (facts.slots = toJson(s)),
          (err) => void (errors.slots = errorOf(err)),
        )
      : Promise.resolve();
    const custom = o.scriptsDir
      ? runCustomScripts({ dir: o.scriptsDir, runner: o.runner, timeoutMs: o.scriptTimeoutMs }).then((r) => {
          if (Object.keys(r.custom).length > 0) facts.custom = r.custom;
          Object.assign(errors, r.errors);
        })
      : Promise.resolve();

    await Promise.all([...probes, slots, custom]);
    if (o.trustedTime) {
      const t = o.trustedTime();
      facts.clock = { behindFloor: t.clockBehind, usingFloor: t.usingFloor };
      volatile.clock = { behindMs: t.behindMs, floor: new Date(t.floorMs).toISOString(), floorSource: t.source };
    }
    volatile.collectedAt = new Date((o.clock ?? Date).now()).toISOString();
    return { ...facts, v: 1, agent: { version: AGENT_VERSION }, errors, volatile } as Inventory;
  }
}
