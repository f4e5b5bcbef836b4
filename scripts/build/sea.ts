// SEA blob step. Two blobs per program from the same bundle:
//  - x64 carries a V8 code cache, made by the very runtime it is injected into (same V8 build).
//    The hub's is Node's own SEA code cache (the bundle compiled, not run: its top-level code).
//    The agent's is trained: its blob's main is scripts/build/sea-main.ts, which runs the bundle,
//    carried as an asset, with a cache made by running it (program-script.ts says what that saves).
//  - arm64 carries plain script only. A code cache is CPU-architecture specific (an x64 cache
//    crashes the arm64 binary), and an arm64 cache could only be made under qemu here, which we
//    cannot prove equal to real hardware; a cache-free blob cannot mismatch anything.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { CACHE_MODES, cacheAsset } from './program-script.ts';
import { BALANCER_FLAGS } from './loading-flags.ts';
import { OutpostError } from '../../shared/errors.ts';
import { runTool } from './tools.ts';
import { DIST, PINNED_NODE, ROOT } from './paths.ts';

export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: boolean;
  useSnapshot: boolean;
  useCodeCache: boolean;
  execArgv: string[];
  /** Files the program reads with `node:sea` getAsset (key → path relative to dist/). */
  assets?: Record<string, string>;
}

/**
 * Heap limits baked into the binary. Left to its defaults, V8 lets garbage from streaming an
 * image (1 MiB blocks, read chunks) pile up: peak private memory of a 256 MiB install was 95 MiB;
 * with these 55 MiB (same wall time). 96 MiB of old space is several times what the agent keeps
 * live (bounded outbox, a 16 MiB bundle head at most). One V8 platform thread instead of one per
 * core: each thread that allocates gets its own malloc arena, kept after use — 1.3 MiB less
 * private memory for a 256 MiB install, 5.8 MiB less for a 2 GiB delta, CPU 3-4% lower (8 runs
 * interleaved); bundle create, whose workers are threads of their own, within noise.
 * The optimizing compiler on the main thread (--no-concurrent-recompilation): on that platform
 * thread its zones went to the thread's own malloc arena, which glibc kept resident once the
 * compile was done (malloc_info at a 2 GiB delta's peak: 3.5 of the arena's 3.7 MiB free); in the
 * main arena that memory is reused. 2 GiB delta 38.3 -> 35.0 MiB, 256 MiB install over HTTP
 * 22.0 -> 20.3 MiB, same wall and CPU time (9 runs interleaved).
 * V8's memory balancer sets the old generation's limit from its live size, allocation rate and
 * collection speed, instead of growing it by at least 8 MiB past what was live (its fixed step,
 * which a delta reached: objects of each window outlive the young generation). The constant is 33
 * times V8's default (less headroom, more frequent full collections). 2 GiB delta, sets of 4 runs
 * interleaved: 35.1 MiB without the balancer, 33.0 with V8's constant; 30.6 with 3e-9 against 33.0
 * with a third of it, CPU 7.9 against 7.7 s (runs spread by ±0.5 s). 1e-8 against 3e-9, 5 runs each
 * in two sets: 4 GiB delta 31.8 (31.4–34.4) against 35.1 (34.8–36.5) MiB, CPU 16.6 against 15.3 s
 * (spread ±3 s); 2 GiB 30.2 against 30.9 MiB (3 runs); 3e-8 gave 33.0 MiB at 4 GiB (2 runs).
 * Full installs (256 MiB, 2 GiB) and `bundle create`: no change, their old generation does not grow.
 * The balancer's two flags change V8's flag hash, so the code cache of Node's own modules, built
 * into the runtime with default flags, is rejected under them and each built-in module compiled
 * from source when first required (the heap-size flags, --v8-pool-size and
 * --no-concurrent-recompilation leave the hash alone). Requiring crypto, zlib, stream, net,
 * child_process, fs/promises, assert and readline: 17 -> 46 ms; an `install` of an 8 MiB image,
 * 7 interleaved runs: 0.19 s without the two flags, 0.23 s with them. The balancer cannot be made
 * later, for the delta alone: V8 makes it at heap set-up. Nor do heap flags set at run time when a
 * delta starts stand in for it (v8.setFlagsFromString of --optimize-for-size or
 * --heap-growing-percent=10, without the balancer: 35.0 MiB at 2 GiB against 30.7 with it, 3 runs).
 * What V8 does allow: the binary starts with the balancer and sets its two flags to V8's defaults
 * while the program loads, then back (loading-flags.ts); built-ins then load from Node's cache.
 * An `install` of an 8 MiB image from a file, 15 paired runs: 243 against 263 ms of CPU. Flags
 * wanted only once the command runs are set then too (AFTER_LOADING_FLAGS there).
 * NODE_OPTIONS still extends them. The code cache is made by a Node run with these flags, and
 * saved with the balancer's at V8's defaults, as the binary loads it: V8 rejects a cache made under
 * other values of the flags it hashes (--no-maglev is one), at every start ("Code cache data
 * rejected").
 */
export const RUNTIME_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96', '--v8-pool-size=1', '--no-concurrent-recompilation', ...BALANCER_FLAGS];

/** The hub holds a fleet's links and caches: V8's own heap sizing, not the node's tight one. */
export const HUB_RUNTIME_FLAGS: string[] = [];

/*
 * No startup snapshot (useSnapshot false). Tried with Node 24.21: a snapshot holding the daemon's
 * module graph cannot be built (ws pulls node:http, whose HTTPParser handle V8 cannot serialize:
 * "global handle not serialized"; child_process, https and tls are flagged as unverified in
 * snapshots). One holding only `status`'s graph builds, but is a 9 MiB blob instead of 0.9 MiB,
 * replaces the code cache (the two are exclusive), and `status` took 190 ms CPU against 200 ms
 * with the code cache in the same run (noise level). Not shipping what buys nothing measurable.
 * A snapshot blob made under RUNTIME_FLAGS also carries a code cache of Node's own modules made
 * under them, which V8 accepts (Node 24.21, a main that only requires crypto, fs/promises,
 * stream, net, child_process, zlib, http and util: 48 -> 12 ms of CPU for those requires), but
 * the 6.4 MB blob is copied into private memory at start: RssAnon of an empty main 7.9 -> 14.7
 * MiB, more than a 4 GiB delta's whole margin to its goal. Not used.
 * What helps is evaluating less: commands and cold dependencies load where they are used.
 */
export function seaConfig(main: string, output: string, codeCache: boolean, flags: string[] = RUNTIME_FLAGS, assets?: Record<string, string>): SeaConfig {
  return { main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: codeCache, execArgv: flags, ...(assets ? { assets } : {}) };
}

/**
 * Makes a blob with the pinned x64 Node: a blob only runs in a binary of the same Node version.
 * Paths in the config are relative to dist/ because the main's path becomes the file name in the
 * binary's stack traces; a build machine's directory has no business there.
 */
export function makeBlob(main: string, output: string, codeCache: boolean, flags: string[] = RUNTIME_FLAGS, assets?: Record<string, string>): Buffer {
  const configFile = join(DIST, `${basename(output)}.sea-config.json`);
  writeFileSync(configFile, JSON.stringify(seaConfig(basename(main), basename(output), codeCache, flags, assets), null, 2) + '\n');
  runTool(PINNED_NODE, [...flags, '--experimental-sea-config', basename(configFile)], { cwd: DIST });
  const blob = readFileSync(output);
  if (blob.length === 0) throw new OutpostError('E_BUILD_STEP', `SEA blob ${output} is empty`);
  return blob;
}

/**
 * Trains the agent's code caches (scripts/build/train-code-cache.ts), one process per mode, with
 * the pinned x64 Node under the binary's flags (V8 refuses a cache made under other flags), into
 * outDir/<mode>; returns the SEA assets (key → path relative to dist/).
 */
export function trainCodeCaches(program: string, outDir: string): Record<string, string> {
  const work = mkdtempSync(join(tmpdir(), 'outpost-code-cache-'));
  rmSync(outDir, { recursive: true, force: true }); // no cache of a mode that is gone
  mkdirSync(outDir, { recursive: true });
  const assets: Record<string, string> = {};
  try {
    for (const mode of CACHE_MODES) {
      const out = join(outDir, mode);
      runTool(PINNED_NODE, [...RUNTIME_FLAGS, join(ROOT, 'scripts', 'build', 'train-code-cache.ts'), mode, program, out, work]);
      if (statSync(out).size === 0) throw new OutpostError('E_BUILD_STEP', `code cache ${out} is empty`);
      assets[cacheAsset(mode)] = relative(DIST, out);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return assets;
}
