// Where the build reads and writes. Everything derives from the repository root so the build
// works from any working directory.
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = join(ROOT, 'dist');
/** Downloaded arm64 Node and stripped copies; under node_modules so `npm ci` starts clean. */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'outpost-build');

/**
 * The two programs, each its own single binary: the agent (what runs on a node) and the hub.
 * The agent's binary must not carry any of the hub's code (checked in scripts/build/bundle.ts).
 */
export type Program = 'agent' | 'hub';
export const PROGRAMS: readonly Program[] = ['agent', 'hub'];
const NAME: Record<Program, string> = { agent: 'outpost', hub: 'outpost-hub' };

export function entryOf(p: Program): string {
  return join(ROOT, 'scripts', 'build', p === 'agent' ? 'sea-entry.ts' : 'hub-entry.ts');
}

export function bundleFile(p: Program): string {
  return join(DIST, `${NAME[p]}.cjs`);
}

export function stampFile(p: Program): string {
  return join(DIST, `${NAME[p]}.build.json`);
}

export const BUNDLE_FILE = bundleFile('agent');
/** The agent binary's SEA main (scripts/build/sea-main.ts), and the program it runs: the bundle above, wrapped. */
export const AGENT_MAIN_FILE = join(DIST, 'outpost-main.cjs');
export const AGENT_PROGRAM_FILE = join(DIST, 'outpost-program.js');
/** The x64 agent's trained V8 code caches, a file per mode (scripts/build/train-code-cache.ts). */
export const AGENT_CODE_CACHE = join(DIST, 'outpost-x64-code-cache');
export const STAMP_FILE = stampFile('agent');

/** The pinned runtime: its version is the one every binary and the SEA blob must share. */
export const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const PINNED_NODE_PACKAGE = join(ROOT, 'node_modules', 'node', 'package.json');

/** Node's SEA sentinel; postject flips it so the runtime looks for the injected blob. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

export type Arch = 'x64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];

export function blobPath(arch: Arch, p: Program = 'agent'): string {
  return join(DIST, `${NAME[p]}-${arch}.blob`);
}

export function binaryPath(arch: Arch, p: Program = 'agent'): string {
  return join(DIST, arch === 'x64' ? NAME[p] : `${NAME[p]}-arm64`);
}
