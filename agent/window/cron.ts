// Five-field cron expressions (minute hour day-of-month month day-of-week) for window starts.
// Our own small parser so the window maths is pure and the config validator and the maths can
// never disagree about what an expression means.
import { OutpostError } from '../../shared/errors.ts';

export interface CronSchedule {
  readonly source: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  /** Vixie cron rule: when both day fields are restricted, a day matches if either does. */
  readonly dayOr: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function bad(expr: string, why: string): never {
  throw new OutpostError('E_WINDOW_CRON', `cron "${expr}": ${why}`);
}

function parseField(expr: string, text: string, min: number, max: number, names: string[] = [], nameBase = 0): Set<number> {
  const value = (s: string): number => {
    const i = names.indexOf(s.toLowerCase());
    if (i >= 0) return i + nameBase;
    if (!/^\d+$/.test(s)) bad(expr, `"${s}" is not a number`);
    const n = Number(s);
    if (n < min || n > max) bad(expr, `${n} is outside ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') bad(expr, `cannot parse "${part}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) bad(expr, `bad step "${stepText}"`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || !a || !b) bad(expr, `bad range "${range}"`);
      lo = value(a);
      hi = value(b);
      if (lo > hi) bad(expr, `range "${range}" runs backwards`);
    } else {
      lo = value(range);
      // "5/15" means from 5 to the end in steps of 15.
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: string): CronSchedule {
  const expr = expression.trim();
  const fields = (MACROS[expr.toLowerCase()] ?? expr).split(/\s+/);
  if (fields.length !== 5) bad(expression, `expected 5 fields (minute hour day month weekday), got ${fields.length}`);
  const [m, h, dom, mon, dow] = fields as [string, string, string, string, string];
  const weekdays = parseField(expression, dow, 0, 7, DAY_NAMES);
  if (weekdays.delete(7)) weekdays.add(0); // 7 is Sunday too
  return Object.freeze({
    source: expression,
    minutes: [...parseField(expression, m, 0, 59)].sort((a, b) => a - b),
    hours: [...parseField(expression, h, 0, 23)].sort((a, b) => a - b),
    days: parseField(expression, dom, 1, 31),
    months: parseField(expression, mon, 1, 12, MONTH_NAMES, 1),
    weekdays,
    dayOr: !dom.startsWith('*') && !dow.startsWith('*'),
  });
}

/** Does the calendar day (year, month 1-12, day, weekday 0-6) match the schedule? */
export function cronDayMatches(c: CronSchedule, month: number, day: number, weekday: number): boolean {
  if (!c.months.has(month)) return false;
  const d = c.days.has(day);
  const w = c.weekdays.has(weekday);
  return c.dayOr ? d || w : d && w;
}
