// SEA blob step. No code cache and no snapshot: such a blob is plain script text, identical for
// x64 and arm64, so one blob serves both binaries (a code cache is CPU-specific and an x64 cache
// crashes the arm64 binary). The price is ~tens of ms of parsing at start-up, measured in the docs.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OutpostError } from '../../shared/errors.ts';
import { runTool } from './tools.ts';
import { DIST, PINNED_NODE } from './paths.ts';

export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: boolean;
  useSnapshot: boolean;
  useCodeCache: boolean;
}

export function seaConfig(main: string, output: string): SeaConfig {
  return { main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false };
}

/**
 * Makes the blob with the pinned Node: a blob only runs in a binary of the same Node version.
 * Paths in the config are relative to dist/ because the main's path becomes the file name in the
 * binary's stack traces; a build machine's directory has no business there.
 */
export function makeBlob(main: string, output: string): Buffer {
  const configFile = join(DIST, 'sea-config.json');
  writeFileSync(configFile, JSON.stringify(seaConfig(basename(main), basename(output)), null, 2) + '\n');
  runTool(PINNED_NODE, ['--experimental-sea-config', basename(configFile)], { cwd: DIST });
  const blob = readFileSync(output);
  if (blob.length === 0) throw new OutpostError('E_BUILD_STEP', `SEA blob ${output} is empty`);
  return blob;
}
