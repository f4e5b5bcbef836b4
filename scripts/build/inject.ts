// Binary step: copy the runtime, strip it, then inject the blob. Strip must come first: strip
// rewrites the ELF and drops the injected note, leaving a plain `node` that ignores its blob.
import { chmodSync, copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { OutpostError } from '../../shared/errors.ts';
import { SEA_FUSE, SEA_RESOURCE } from './paths.ts';
import { runTool } from './tools.ts';

interface Postject {
  inject(file: string, resource: string, data: Buffer, opts: { sentinelFuse: string; overwrite?: boolean }): Promise<void>;
}

// postject ships CommonJS without types; pinned (only alphas exist).
const postject = createRequire(import.meta.url)('postject') as Postject;

// postject's ELF library warns once per note section of Node's binary ("Can't find string offset
// for section name '.note.100'"); harmless, and a dozen such lines would hide real problems.
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/Can't find string offset for section name/.test(String(args[0]))) warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

/** Writes `out` atomically (temp file + rename) so a concurrent reader never runs half a binary. */
export async function makeBinary(runtime: string, strip: string, blob: Buffer, out: string): Promise<number> {
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    copyFileSync(runtime, tmp);
    chmodSync(tmp, 0o755);
    runTool(strip, ['--strip-all', tmp]);
    await quietly(() => postject.inject(tmp, SEA_RESOURCE, blob, { sentinelFuse: SEA_FUSE }));
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('E_BUILD_STEP', `cannot make ${out}: ${(err as Error).message}`, { cause: err });
  }
  return statSync(out).size;
}
