// Human-facing CLI output. Commands write through this, never console.*, so tests can capture it.
import type { Writable } from 'node:stream';
import { isOutpostError } from '../../shared/errors.ts';

export interface CliIO {
  out: Writable;
  err: Writable;
  /** True when stdout is a terminal (progress bars instead of plain lines). */
  isTTY: boolean;
}

export function processIO(): CliIO {
  return { out: process.stdout, err: process.stderr, isTTY: Boolean(process.stdout.isTTY) };
}

export type CommandModule = { run(args: string[], io: CliIO): Promise<number> };

/** Exit codes of every `outpost` command (README "Exit codes" keeps the same table). */
export const EXIT = {
  ok: 0,
  /** The operation failed; the stable code is on stderr. */
  failed: 1,
  /** Wrong command-line arguments (E_USAGE). */
  usage: 2,
  /** `outpost location`: no surveyed position and no GNSS fix. */
  noLocation: 4,
  /** A bug (E_INTERNAL). */
  internal: 70,
  /** Stopped by SIGINT/SIGTERM; the journal keeps the deployment for `install --resume`. */
  stopped: 130,
} as const;

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * One line on stderr with the stable code first, as scripts and CI pipelines grep for it; a usage
 * error adds a hint line naming the help to read. Never a stack trace: a bug names where it
 * happened (first frame) and the daemon's log has the rest.
 */
export function reportError(io: CliIO, err: unknown, helpCommand = 'outpost'): number {
  if (isOutpostError(err)) {
    io.err.write(`${err.code}: ${oneLine(err.message)}\n`);
    if (err.code === 'E_USAGE') {
      io.err.write(`hint: see \`${helpCommand} --help\`\n`);
      return EXIT.usage;
    }
    return EXIT.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  const frame = err instanceof Error ? /\n\s+at (.*)/.exec(err.stack ?? '')?.[1] : undefined;
  io.err.write(`E_INTERNAL: ${oneLine(message)}${frame ? ` (at ${frame})` : ''}; this is a bug, please report it\n`);
  return EXIT.internal;
}
