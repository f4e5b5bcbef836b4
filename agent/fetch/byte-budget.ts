// Daily/monthly byte budget for downloads on metered links. The spent counters live in a small
// JSON file written atomically. To stay cheap and still never under-count after a crash, the file
// always holds "spent + a reservation": it is rewritten only when the real count passes the
// reserved mark (every few MiB), and set to the exact figure on flush().
import { writeJsonAtomic, readJsonOrSetAside } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import { toInstant, wallTime } from '../window/tz.ts';

export interface BudgetLimits {
  readonly dailyBytes: number | null;
  readonly monthlyBytes: number | null;
  /** Zone whose midnight and first of the month start new periods (the billing zone). */
  readonly timezone: string;
}

interface Counters {
  v: 1;
  day: string;
  dayBytes: number;
  month: string;
  monthBytes: number;
}

export interface BudgetStatus {
  readonly dayBytes: number;
  readonly monthBytes: number;
  /** Bytes left before a limit is hit (null: no limits). */
  readonly remaining: number | null;
  /** When spent: the instant the exhausted period ends. */
  readonly refillsAt: number | null;
}

const DEFAULT_RESERVE = 4 * 1024 * 1024;

function validate(v: unknown): Counters {
  const c = v as Counters;
  if (!c || c.v !== 1 || typeof c.day !== 'string' || typeof c.month !== 'string' || !Number.isFinite(c.dayBytes) || !Number.isFinite(c.monthBytes)) {
    throw new Error('not a budget record');
  }
  return c;
}

export class ByteBudget {
  readonly #file: string;
  readonly #limits: BudgetLimits;
  readonly #now: () => number;
  readonly #reserve: number;
  #c: Counters;
  /** Highest dayBytes/monthBytes the file may claim without a new write. */
  #markDay: number;
  #markMonth: number;
  #writing: Promise<void> = Promise.resolve();
  #writeError: unknown = null;

  private constructor(file: string, limits: BudgetLimits, now: () => number, reserve: number, c: Counters) {
    this.#file = file;
    this.#limits = limits;
    this.#now = now;
    this.#reserve = reserve;
    this.#c = c;
    this.#markDay = c.dayBytes;
    this.#markMonth = c.monthBytes;
  }

  static async open(file: string, limits: BudgetLimits, now: () => number = Date.now, reserveBytes = DEFAULT_RESERVE): Promise<ByteBudget> {
    const read = await readJsonOrSetAside(file, validate, now);
    const c: Counters = read.kind === 'ok' ? read.value : { v: 1, day: '', dayBytes: 0, month: '', monthBytes: 0 };
    const b = new ByteBudget(file, limits, now, reserveBytes, c);
    b.#roll();
    return b;
  }

  #keys(): { day: string; month: string } {
    const d = new Date(wallTime(this.#limits.timezone, this.#now())).toISOString();
    return { day: d.slice(0, 10), month: d.slice(0, 7) };
  }

  #roll(): void {
    const k = this.#keys();
    if (k.day !== this.#c.day) {
      this.#c = { ...this.#c, day: k.day, dayBytes: 0 };
      this.#markDay = 0;
    }
    if (k.month !== this.#c.month) {
      this.#c = { ...this.#c, month: k.month, monthBytes: 0 };
      this.#markMonth = 0;
    }
  }

  status(): BudgetStatus {
    this.#roll();
    const { dailyBytes, monthlyBytes, timezone } = this.#limits;
    const left: number[] = [];
    if (dailyBytes !== null) left.push(dailyBytes - this.#c.dayBytes);
    if (monthlyBytes !== null) left.push(monthlyBytes - this.#c.monthBytes);
    const remaining = left.length ? Math.max(0, Math.min(...left)) : null;
    let refillsAt: number | null = null;
    if (remaining === 0) {
      const wall = new Date(wallTime(timezone, this.#now()));
      const monthSpent = monthlyBytes !== null && this.#c.monthBytes >= monthlyBytes;
      const next = monthSpent
        ? Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth() + 1, 1)
        : Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + 1);
      refillsAt = toInstant(timezone, next);
    }
    return { dayBytes: this.#c.dayBytes, monthBytes: this.#c.monthBytes, remaining, refillsAt };
  }

  /** Records bytes received; returns true when a limit is now reached. Persists lazily. */
  charge(n: number): boolean {
    this.#roll();
    this.#c.dayBytes += n;
    this.#c.monthBytes += n;
    if (this.#c.dayBytes > this.#markDay || this.#c.monthBytes > this.#markMonth) {
      this.#markDay = this.#c.dayBytes + this.#reserve;
      this.#markMonth = this.#c.monthBytes + this.#reserve;
      this.#write({ ...this.#c, dayBytes: this.#markDay, monthBytes: this.#markMonth });
    }
    return this.status().remaining === 0;
  }

  /** Resolves when writes already started have landed (does not write the exact figure). */
  async written(): Promise<void> {
    await this.#writing;
  }

  /** Writes the exact counters (end of a download, shutdown). */
  async flush(): Promise<void> {
    this.#roll();
    this.#markDay = this.#c.dayBytes;
    this.#markMonth = this.#c.monthBytes;
    this.#write({ ...this.#c });
    await this.#writing;
    if (this.#writeError) {
      const err = this.#writeError;
      this.#writeError = null;
      throw new OutpostError('E_BUDGET_WRITE', `cannot save the byte budget: ${(err as Error).message}`, { cause: err });
    }
  }

  #write(c: Counters): void {
    // Serialised so an older record never lands after a newer one.
    this.#writing = this.#writing.then(() => writeJsonAtomic(this.#file, c, 0o600)).catch((err) => {
      this.#writeError = err;
    });
  }
}
