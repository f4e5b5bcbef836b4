// Rate limits on hub commands that cost the node work (scripts run as root, state written, a
// reboot). A hub — or whoever took it over — can send thousands of valid commands a minute; the
// node does at most what these buckets allow and answers the rest `rejected` E_RATE_LIMITED with
// `retryAfterS`. A refused command is not recorded, so refusing costs no disk write.
// The reboot bucket is kept on disk: a hub must not be able to reboot-loop a node by sending one
// reboot after every start. Documented in docs/hub.md (Command rate limits) and PROTOCOL.md §5.
import { join } from 'node:path';
import { readJsonOrSetAside, writeJsonAtomic } from '../lib/atomic-file.ts';
import type { Logger } from '../log/logger.ts';

/** Up to `burst` at once, then one more every `everyS` seconds (a token bucket). */
export interface RateRule {
  readonly burst: number;
  readonly everyS: number;
}

export type LimitedCommand = 'inventory.refresh' | 'reboot' | 'config.push' | 'offer' | 'cancel';

export const COMMAND_LIMITS: Readonly<Record<LimitedCommand, RateRule>> = Object.freeze({
  'inventory.refresh': { burst: 2, everyS: 60 },
  reboot: { burst: 1, everyS: 600 },
  'config.push': { burst: 10, everyS: 30 },
  offer: { burst: 10, everyS: 60 },
  cancel: { burst: 10, everyS: 10 },
});

/** Buckets kept on disk (the rest start full at every start). */
const DURABLE: ReadonlySet<LimitedCommand> = new Set(['reboot']);

export const RATE_LIMITS_FILE = 'rate-limits.json';

interface Bucket {
  tokens: number;
  at: number;
}

export class CommandLimiter {
  readonly #rules: Readonly<Record<LimitedCommand, RateRule>>;
  readonly #buckets = new Map<LimitedCommand, Bucket>();
  readonly #file: string;
  readonly #now: () => number;

  private constructor(file: string, rules: Readonly<Record<LimitedCommand, RateRule>>, now: () => number) {
    this.#file = file;
    this.#rules = rules;
    this.#now = now;
  }

  static async open(dir: string, log: Logger, o: { rules?: Partial<Record<LimitedCommand, RateRule>>; now?: () => number } = {}): Promise<CommandLimiter> {
    const l = new CommandLimiter(join(dir, RATE_LIMITS_FILE), { ...COMMAND_LIMITS, ...o.rules }, o.now ?? Date.now);
    const read = await readJsonOrSetAside(l.#file, (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object');
      const out: Partial<Record<LimitedCommand, Bucket>> = {};
      for (const [k, b] of Object.entries(v as Record<string, unknown>)) {
        const { tokens, at } = (b ?? {}) as Record<string, unknown>;
        if (!DURABLE.has(k as LimitedCommand) || typeof tokens !== 'number' || typeof at !== 'number' || !Number.isFinite(tokens + at)) throw new Error(`bad bucket ${k}`);
        out[k as LimitedCommand] = { tokens, at };
      }
      return out;
    });
    // A lost or corrupt file must not open the door to a reboot loop: start those buckets empty.
    if (read.kind === 'corrupt') {
      log.error('command rate-limit state corrupt, set aside; durable limits start empty', { file: read.setAsideTo });
      for (const k of DURABLE) l.#buckets.set(k, { tokens: 0, at: l.#now() });
    }
    if (read.kind === 'ok') for (const [k, b] of Object.entries(read.value)) l.#buckets.set(k as LimitedCommand, b);
    return l;
  }

  rule(type: LimitedCommand): RateRule {
    return this.#rules[type];
  }

  /**
   * Takes one token for `type`. Returns 0 when the command may run (a durable bucket is on disk
   * before this resolves), else the seconds until it may (≥ 1).
   */
  async take(type: LimitedCommand): Promise<number> {
    const rule = this.#rules[type];
    const now = this.#now();
    const b = this.#buckets.get(type) ?? { tokens: rule.burst, at: now };
    // A clock that went backwards refills nothing (and cannot push the refill into the future).
    const elapsedS = Math.max(0, now - b.at) / 1000;
    const tokens = Math.min(rule.burst, b.tokens + elapsedS / rule.everyS);
    if (tokens < 1) {
      this.#buckets.set(type, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) * rule.everyS));
    }
    const next = { tokens: tokens - 1, at: now };
    this.#buckets.set(type, next);
    if (DURABLE.has(type)) await writeJsonAtomic(this.#file, Object.fromEntries([...DURABLE].flatMap((k) => (this.#buckets.has(k) ? [[k, this.#buckets.get(k)]] : []))), 0o600);
    return 0;
  }
}
