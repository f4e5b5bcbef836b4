// Custom inventory: every executable in a directory (run-parts rules: no dotfiles, no `~`
// backups), run without a shell, with a timeout, a few at a time. Each script's `key=value`
// lines become `custom.<script>.<key>`; a failing, slow or malformed script is reported under
// `errors["custom:<script>"]` and never holds up the others.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../platform/types.ts';
import { parseKeyValueLines } from './key-value.ts';
import type { SourceError } from './types.ts';
import { withTimeout } from './timeout.ts';

export interface CustomScriptOptions {
  dir: string;
  runner: CommandRunner;
  timeoutMs: number;
  /** Scripts run at the same time (a small node must not fork-bomb itself). */
  concurrency?: number;
  maxOutputBytes?: number;
}

export interface CustomScriptsResult {
  custom: Record<string, Record<string, string>>;
  errors: Record<string, SourceError>;
}

/** Extra wait after the runner's own kill, for a script whose children keep stdout open. */
const KILL_GRACE_MS = 1000;
const DEFAULT_MAX_OUTPUT = 64 * 1024;

export async function listExecutables(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const st = await stat(join(dir, name)).catch(() => null);
    if (st?.isFile() && (st.mode & 0o111) !== 0) out.push(name);
  }
  return out;
}

export async function runCustomScripts(opts: CustomScriptOptions): Promise<CustomScriptsResult> {
  const result: CustomScriptsResult = { custom: {}, errors: {} };
  let names: string[];
  try {
    names = await listExecutables(opts.dir);
  } catch (err) {
    result.errors['custom'] = { code: 'E_INVENTORY_SCRIPT_DIR', message: `cannot read ${opts.dir}: ${(err as Error).message}` };
    return result;
  }
  const dirProblem = await unsafe(opts.dir, 'directory');
  if (dirProblem && names.length > 0) {
    result.errors['custom'] = { code: 'E_INVENTORY_SCRIPT_UNSAFE', message: `not running scripts from ${opts.dir}: ${dirProblem}` };
    return result;
  }
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await runOne(name, opts);
      if (r.values) result.custom[name] = r.values;
      if (r.error) result.errors[`custom:${name}`] = r.error;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, names.length) }, worker));
  return result;
}

/**
 * The agent runs these as root: a script (or its directory) that someone other than root (or the
 * agent's own user) owns, or that group or others may write, would let them run code as root.
 */
async function unsafe(path: string, what: string): Promise<string | null> {
  const st = await stat(path).catch(() => null);
  if (!st) return null;
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) return `the ${what} is owned by uid ${st.uid}, not root`;
  if ((st.mode & 0o022) !== 0) return `the ${what} is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

async function runOne(name: string, opts: CustomScriptOptions): Promise<{ values?: Record<string, string>; error?: SourceError }> {
  const file = join(opts.dir, name);
  const problem = await unsafe(file, 'script');
  if (problem) return { error: { code: 'E_INVENTORY_SCRIPT_UNSAFE', message: `not run: ${problem}` } };
  let res;
  try {
    res = await withTimeout(
      () => opts.runner.run(file, [], { timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT, cwd: opts.dir }),
      opts.timeoutMs + KILL_GRACE_MS,
      name,
    );
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'E_INVENTORY_TIMEOUT') return { error: timeoutError(opts.timeoutMs) };
    return { error: { code: 'E_INVENTORY_SCRIPT_FAILED', message: `cannot run: ${(err as Error).message.replace(file, name)}` } };
  }
  if (res.timedOut) return { error: timeoutError(opts.timeoutMs) };
  if (res.code !== 0) {
    const why = res.signal ? `killed by ${res.signal}` : `exit code ${res.code}`;
    const detail = res.stderr.trim().split('\n')[0]?.slice(0, 200);
    return { error: { code: 'E_INVENTORY_SCRIPT_FAILED', message: detail ? `${why}: ${detail}` : why } };
  }
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const truncated = Buffer.byteLength(res.stdout) >= max;
  // A cut-off last line would carry a wrong value: drop it and say so.
  const text = truncated ? res.stdout.slice(0, res.stdout.lastIndexOf('\n') + 1) : res.stdout;
  const { values, malformed } = parseKeyValueLines(text);
  if (truncated) return { values, error: { code: 'E_INVENTORY_SCRIPT_OUTPUT', message: `output cut at ${max} bytes` } };
  if (malformed.length === 0) return { values };
  const lines = malformed.slice(0, 5).join(', ') + (malformed.length > 5 ? ', …' : '');
  return {
    values,
    error: { code: 'E_INVENTORY_SCRIPT_OUTPUT', message: `${malformed.length} line(s) not key=value (line ${lines})` },
  };
}

function timeoutError(ms: number): SourceError {
  return { code: 'E_INVENTORY_SCRIPT_TIMEOUT', message: `no result within ${ms} ms` };
}
