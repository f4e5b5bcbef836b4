// External tools the build shells out to. A missing tool fails with the Debian package to install,
// not with a bare ENOENT halfway through a 100 MB copy.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OutpostError } from '../../shared/errors.ts';

export interface Tool {
  name: string;
  /** Debian package that provides it, for the error message. */
  pkg: string;
}

export const STRIP: Tool = { name: 'strip', pkg: 'binutils' };
export const STRIP_ARM64: Tool = { name: 'aarch64-linux-gnu-strip', pkg: 'binutils-aarch64-linux-gnu' };
export const NPM: Tool = { name: 'npm', pkg: 'npm (or Node.js from nodejs.org)' };
export const QEMU_ARM64: Tool = { name: 'qemu-aarch64-static', pkg: 'qemu-user-static' };

/** Absolute path of `tool` on PATH, or an E_BUILD_TOOL error naming the package to install. */
export function findTool(tool: Tool): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, tool.name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  throw new OutpostError('E_BUILD_TOOL', `${tool.name} not found on PATH; install the Debian package ${tool.pkg}`);
}

/** Runs a tool to completion; a non-zero exit becomes E_BUILD_STEP with its stderr. */
export function runTool(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new OutpostError('E_BUILD_STEP', `cannot run ${file}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || '').trim().split('\n').slice(-8).join('\n');
    throw new OutpostError('E_BUILD_STEP', `${file} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${why}`);
  }
  return r.stdout;
}
