// esbuild step: one CommonJS file holding the agent and its npm dependencies.
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { resolve } from 'node:path';
import { isBuiltin } from 'node:module';
import { OutpostError } from '../../shared/errors.ts';
import { ROOT, entryOf, type Program } from './paths.ts';

// ws's native speed-ups: loaded in a try/catch that the WS_NO_* defines below switch off.
const WS_NATIVE = ['bufferutil', 'utf-8-validate'];

// node-cron's ESM build reads import.meta.url, which is empty in CJS output and esbuild does not
// warn: the bundle would crash at load. Compute it from __filename (the binary's path in a SEA).
const META_URL = '__outpost_import_meta_url';
const BANNER = `"use strict";var ${META_URL}=require("node:url").pathToFileURL(__filename).href;`;

/** Bare `tar` in the agent resolves to scripts/build/agent-tar.ts, `minizlib` to agent-minizlib.ts (why: see there). */
const AGENT_TAR: Plugin = {
  name: 'agent-tar',
  setup(b) {
    b.onResolve({ filter: /^tar$/ }, () => ({ path: resolve(ROOT, 'scripts', 'build', 'agent-tar.ts') }));
    // tar's parser imports minizlib for compressed tarballs, which the agent never parses
    b.onResolve({ filter: /^minizlib$/ }, () => ({ path: resolve(ROOT, 'scripts', 'build', 'agent-minizlib.ts') }));
  },
};

export function bundleOptions(outfile: string, program: Program = 'agent'): BuildOptions {
  return {
    entryPoints: [entryOf(program)],
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
    external: WS_NATIVE,
    plugins: program === 'agent' ? [AGENT_TAR] : [],
  };
}

/** The agent binary's SEA main: a few lines that load the bundle (scripts/build/sea-main.ts). */
export async function bundleSeaMain(outfile: string): Promise<void> {
  await build({
    entryPoints: [resolve(ROOT, 'scripts', 'build', 'sea-main.ts')], outfile, bundle: true, platform: 'node',
    format: 'cjs', target: 'node24', minify: true, logLevel: 'warning',
  });
}

export interface BundleResult {
  file: string;
  bytes: number;
  /** Output bytes per npm package (or "agent"/"shared"), largest first. */
  byPackage: Array<[string, number]>;
  /** Modules left out that the code requires inside try/catch (absent in the binary). */
  optional: string[];
}

export async function bundleAgent(outfile: string, program: Program = 'agent'): Promise<BundleResult> {
  const result = await build(bundleOptions(outfile, program));
  const meta = result.metafile as Metafile;
  const out = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  // What ships on every node carries none of the hub (server, store, operator API): a stray
  // import from agent/ into hub/ would grow the node's binary and its attack surface.
  const hubInputs = program === 'agent' ? Object.keys(out?.inputs ?? {}).filter((i) => resolve(i).startsWith(resolve(ROOT, 'hub') + '/')) : [];
  if (hubInputs.length > 0) {
    throw new OutpostError('E_BUILD_STEP', `the agent bundle includes hub code: ${hubInputs.slice(0, 5).join(', ')}`);
  }
  // A SEA's require() loads built-ins only, and import() fails outright when the blob carries a
  // code cache. esbuild leaves a require() unresolved only inside try/catch (systeminformation's
  // macOS sensors, ws's add-ons): those degrade gracefully. A dynamic import() must not remain.
  const dynamic = (out?.imports ?? []).filter((i) => i.kind === 'dynamic-import');
  if (dynamic.length > 0) {
    const list = dynamic.map((i) => i.path).join(', ');
    throw new OutpostError('E_BUILD_STEP', `the bundle keeps import() of ${list}, which a single binary cannot load`);
  }
  const optional = [...new Set((out?.imports ?? []).filter((i) => i.external && !isBuiltin(i.path)).map((i) => i.path))];
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
    optional,
  };
}
