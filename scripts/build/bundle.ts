// esbuild step: one CommonJS file holding the agent and its npm dependencies.
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

// node-cron's ESM build reads import.meta.url, which is empty in CJS output and esbuild does not
// warn: the bundle would crash at load. Compute it from __filename (the binary's path in a SEA).
const META_URL = '__outpost_import_meta_url';
const BANNER = `"use strict";var ${META_URL}=require("node:url").pathToFileURL(__filename).href;`;

export function bundleOptions(outfile: string): BuildOptions {
  return {
    entryPoints: [join(ROOT, 'scripts', 'build', 'sea-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    // Names in stack traces of E_INTERNAL reports are worth the few kB.
    keepNames: true,
    legalComments: 'external',
    metafile: true,
    logLevel: 'warning',
    banner: { js: BANNER },
    define: {
      'import.meta.url': META_URL,
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
      // ws would try to require its optional native add-ons; a SEA cannot load them anyway.
      'process.env.WS_NO_BUFFER_UTIL': '"1"',
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    },
    external: ['bufferutil', 'utf-8-validate'],
  };
}

export interface BundleResult {
  file: string;
  bytes: number;
  /** Output bytes per npm package (or "agent"/"shared"), largest first. */
  byPackage: Array<[string, number]>;
}

export async function bundleAgent(outfile: string): Promise<BundleResult> {
  const result = await build(bundleOptions(outfile));
  const meta = result.metafile as Metafile;
  const out = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  const sizes = new Map<string, number>();
  for (const [input, info] of Object.entries(out?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1]! : input.split('/')[0]!;
    sizes.set(key, (sizes.get(key) ?? 0) + info.bytesInOutput);
  }
  return {
    file: outfile,
    bytes: out?.bytes ?? 0,
    byPackage: [...sizes].sort((a, b) => b[1] - a[1]),
  };
}
