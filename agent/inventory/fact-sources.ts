// What the firmware, board and OS facts are read from — files under a root (a prepared tree in
// tests) and a few commands' output — and systeminformation's `key: value` lookup, which those
// facts must keep matching value for value (a changed value is an inventory diff on every node).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../platform/exec.ts';

export interface FactSources {
  /** Prefix of every file read; '/' (default) is the machine itself. */
  root?: string;
  /** A command's stdout, '' when it cannot run — as the shell pipelines it replaces yield. */
  run?: (file: string, args: readonly string[], env?: Record<string, string>) => Promise<string>;
  /** process.arch and os.release() unless given. */
  arch?: string;
  kernelRelease?: string;
}

/**
 * Async process runner: a hung dmidecode or dmesg is killed rather than left behind. The whole
 * output, as the pipelines read it: a kernel log can exceed the runner's default 1 MiB.
 */
export const commandOutput = (file: string, args: readonly string[], env?: Record<string, string>): Promise<string> =>
  runCommand(file, args, { timeoutMs: 10_000, maxOutputBytes: 64 << 20, ...(env ? { env } : {}) }).then((r) => (r.timedOut ? '' : r.stdout), () => '');

export const under = (root: string, path: string): string => join(root, path);

/** A file's text, null when it is missing or unreadable (root-only serials as non-root). */
export const readText = (path: string): Promise<string | null> => readFile(path, 'utf8').catch(() => null);

/**
 * systeminformation's util.getValue: the text after the first `separator` of the first line that
 * starts with `property` (case-insensitive, tabs ignored), trimmed; '' when none.
 */
export function getValue(lines: readonly string[], property: string, separator = ':', trimmed = false): string {
  const prop = property.toLowerCase();
  for (const line of lines) {
    let lower = line.toLowerCase().replace(/\t/g, '');
    if (trimmed) lower = lower.trim();
    if (!lower.startsWith(prop)) continue;
    const parts = (trimmed ? line.trim() : line).split(separator);
    if (parts.length >= 2) return parts.slice(1).join(separator).trim();
  }
  return '';
}
