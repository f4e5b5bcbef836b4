// How the agent's single binary runs its program: the bundle (a SEA asset) compiled with vm.Script
// and a V8 code cache made at build time by running the program (train-code-cache.ts). Node's own
// SEA code cache is made by compiling the bundle without running it, so it holds the top-level
// code only and every function the program then calls is parsed and compiled at every start:
// 60–100 ms of an `install` (perf: V8's scanner, parser and bytecode generator on the main
// thread). A cache made after a run holds the bytecode of every function that run compiled.
// The SEA main (sea-main.ts) and the training share this file, so both compile the very same
// source text: V8 accepts a cache only for a source of the same length, made by the same V8
// under the same flags; otherwise it compiles as usual and says so (cachedDataRejected).
import { Script } from 'node:vm';

/** SEA asset key of the program (wrapProgram() of the esbuild bundle). */
export const PROGRAM_ASSET = 'outpost-program.js';

/**
 * The code caches, one per group of commands, each trained by running only those commands: a
 * cache is deserialized whole at start, so one for everything cost `--version` 30 ms and 6 MiB,
 * and one for every kind of install raised a file install's peak private memory by 2 MiB.
 * An install from a URL starts from the `cli` cache: with a cache of its own (full download and
 * delta, 0.67 MB) a 4 GiB delta peaked 2 MiB higher (33.3–34.5 against 31.8–32.7 MiB, medians of
 * four sets of 4–5 interleaved runs; with `cli` 32.3 against 31.8), for 0.05 s less CPU at start.
 * In the order they are trained (train-code-cache.ts).
 */
export const CACHE_MODES = ['bundle', 'install-file', 'status', 'cli'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** The cache a command line starts with (its first argument names the command). */
export function cacheModeOf(argv: readonly string[]): CacheMode {
  const [command, first] = argv;
  if (command === 'install') return /^https?:\/\//i.test(first ?? '') ? 'cli' : 'install-file';
  return command === 'bundle' || command === 'status' ? command : 'cli';
}

/** SEA asset key of a mode's cache (x64 only). */
export function cacheAsset(mode: CacheMode): string {
  return `code-cache/${mode}`;
}

/** What sea-entry.ts exports. */
export interface ProgramExports {
  main(argv: string[], io?: unknown): Promise<number>;
  /**
   * main(process.argv) as the binary's process (its result becomes the exit code); `loaded` is
   * called once the command's modules are loaded, before it runs (loading-flags.ts).
   */
  start(loaded?: () => void): void;
}

/**
 * The program as the binary carries it: the bundle inside a CommonJS wrapper. Wrapped at build
 * time, so the binary makes one string of it (0.8 MiB), not the bundle and then the whole.
 */
export function wrapProgram(bundle: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${bundle}\n})`;
}

/** Compiles the wrapped program; with a cache V8 accepts, nothing is parsed. */
export function compileProgram(program: string, cachedData?: Uint8Array): { script: Script; cacheRejected: boolean } {
  // the file name stack traces show: the bundle's, as when it was the SEA main itself
  const script = new Script(program, { filename: 'outpost.cjs', cachedData });
  return { script, cacheRejected: cachedData !== undefined && script.cachedDataRejected === true };
}

/**
 * Runs the compiled bundle's top level: `require` is the caller's (a SEA main's loads built-ins
 * only), `filename` its own (`__filename`, as a SEA main sees it). Each call makes a fresh
 * instance of every module.
 */
export function runProgram(script: Script, filename: string, req: NodeJS.Require): ProgramExports {
  const module = { exports: {} as ProgramExports };
  const wrapper = script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;
  wrapper(module.exports, req, module, filename, filename.slice(0, Math.max(0, filename.lastIndexOf('/'))) || '.');
  return module.exports;
}
