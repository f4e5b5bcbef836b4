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

/** One line on stderr with the stable code first, as scripts and CI pipelines grep for it. */
export function reportError(io: CliIO, err: unknown): number {
  if (isOutpostError(err)) {
    io.err.write(`${err.code}: ${err.message}\n`);
    return 1;
  }
  io.err.write(`E_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 70;
}
