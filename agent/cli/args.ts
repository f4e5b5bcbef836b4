// Option parsing shared by every `outpost` command: strict (a typo is an error, not a silent
// default), and every parse problem becomes E_USAGE (exit 2, one line plus a hint), never a
// TypeError from node:util reaching the operator as E_INTERNAL.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OutpostError } from '../../shared/errors.ts';
import type { CliIO } from './io.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function usageError(message: string): OutpostError {
  return new OutpostError('E_USAGE', message);
}

/** node:util's messages carry a paragraph of advice; the first sentence is the problem. */
function firstSentence(message: string): string {
  const s = message.split(/\.\s/)[0]!.trim();
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** Parses `args` against `options` plus `--help`/`-h`. */
export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(firstSentence((err as Error).message));
  }
}

/** Positional arguments within [min, max]; `what` names them in the error. */
export function positionals(list: string[], min: number, max: number, what: string): string[] {
  if (list.length < min) throw usageError(min === max && min === 1 ? `missing ${what}` : `expected ${min === max ? min : `at least ${min}`} ${what}, got ${list.length}`);
  if (list.length > max) {
    throw usageError(max === 0 ? `unexpected argument "${list[0]}"` : `unexpected argument "${list[max]}" (expected ${max === 1 ? 'one' : `at most ${max}`} ${what})`);
  }
  return list;
}

export function printHelp(io: CliIO, text: string): number {
  io.out.write(text.trimStart());
  return 0;
}
