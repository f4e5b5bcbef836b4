// Shared option parsing for `outpost bundle …`: the CLI's strict parser (agent/cli/args.ts) plus
// the value checks bundle commands need.
import { usageError } from '../../cli/args.ts';

export { parse, printHelp, usageError } from '../../cli/args.ts';

export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) throw usageError(`${flag} is required`);
  return value;
}

export function integer(value: string, flag: string, min = 0): number {
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw usageError(`${flag} must be an integer >= ${min}, got "${value}"`);
  }
  return Number(value);
}

/** Sizes like 65536, 64K, 1M. */
export function size(value: string, flag: string): number {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(value);
  if (!m) throw usageError(`${flag}: not a size: "${value}"`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

export function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0]!;
}
