// Where the build reads and writes. Everything derives from the repository root so the build
// works from any working directory.
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = join(ROOT, 'dist');
/** Downloaded arm64 Node and stripped copies; under node_modules so `npm ci` starts clean. */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'outpost-build');

export const BUNDLE_FILE = join(DIST, 'outpost.cjs');
export const STAMP_FILE = join(DIST, 'outpost.build.json');

/** The pinned runtime: its version is the one every binary and the SEA blob must share. */
export const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const PINNED_NODE_PACKAGE = join(ROOT, 'node_modules', 'node', 'package.json');

/** Node's SEA sentinel; postject flips it so the runtime looks for the injected blob. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

export type Arch = 'x64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];

export function blobPath(arch: Arch): string {
  return join(DIST, `outpost-${arch}.blob`);
}

export function binaryPath(arch: Arch): string {
  return join(DIST, arch === 'x64' ? 'outpost' : 'outpost-arm64');
}
