// JSON-lines logger: one object per line on stdout (journald keeps them). The only module that
// writes to the console; CLI human output goes through `ui` in agent/cli.
import type { Writable } from 'node:stream';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string, fields?: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  out?: Writable;
  /** Extra sink (e.g. the per-deployment log capture). */
  tap?: (line: Record<string, unknown>) => void;
  now?: () => number;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const out = opts.out ?? process.stdout;
  const now = opts.now ?? Date.now;
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const line: Record<string, unknown> = { t: new Date(now()).toISOString(), level, ...base, msg, ...fields };
    for (const [k, v] of Object.entries(line)) {
      if (v instanceof Error) line[k] = { message: v.message, code: (v as { code?: unknown }).code };
    }
    opts.tap?.(line);
    out.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (component, fields) => createLogger(opts, { ...base, component, ...fields }),
  };
}

/** A logger that drops everything; for tests and CLI commands that print their own output. */
export function silentLogger(): Logger {
  const l: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => l };
  return l;
}
