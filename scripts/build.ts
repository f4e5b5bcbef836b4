// `npm run build`: the agent (dist/outpost, dist/outpost-arm64) and the hub (dist/outpost-hub,
// dist/outpost-hub-arm64), Node single executables each made from one esbuild bundle. Skips the
// slow steps when dist/ already matches the sources.
//   node scripts/build.ts [--arch x64|arm64 (repeatable; default both)] [--program agent|hub (repeatable; default both)] [--force] [--no-compress]
// Each binary gets `<binary>.xz` and `.sha256` files beside it; --no-compress skips that (and
// removes stale ones), for quick rebuilds in tests.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isOutpostError, OutpostError } from '../shared/errors.ts';
import * as esbuild from 'esbuild';
import { bundleAgent, bundleSeaMain } from './build/bundle.ts';
import { buildDashboard } from '../hub/dashboard/build.ts';
import { seaKey } from '../hub/dashboard/assets.ts';
import { makeBinary } from './build/inject.ts';
import { withLock } from './build/lock.ts';
import { arm64Node } from './build/node-arm64.ts';
import { AGENT_CODE_CACHE, AGENT_MAIN_FILE, AGENT_PROGRAM_FILE, ARCHES, DIST, PINNED_NODE, PINNED_NODE_PACKAGE, PROGRAMS, ROOT, binaryPath, blobPath, bundleFile, stampFile, type Arch, type Program } from './build/paths.ts';
import { HUB_RUNTIME_FLAGS, RUNTIME_FLAGS, makeBlob, trainCodeCaches } from './build/sea.ts';
import { PROGRAM_ASSET, wrapProgram } from './build/program-script.ts';
import { binaryRecord, inputsDigest, isFresh, readStamp, type Stamp } from './build/stamp.ts';
import { STRIP, STRIP_ARM64, findTool } from './build/tools.ts';
import { XZ, artifactPaths, compressArtifacts, removeArtifacts } from './build/compress.ts';
import { existsSync } from 'node:fs';

const log = (s: string) => process.stderr.write(`build: ${s}\n`);
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const kib = (n: number) => `${(n / 1024).toFixed(0)} kB`;

function pinnedNodeVersion(): string {
  const version = (JSON.parse(readFileSync(PINNED_NODE_PACKAGE, 'utf8')) as { version: string }).version;
  // The blob is made by the pinned runtime and must match the runtime it is injected into.
  if (process.versions.node !== version) {
    throw new OutpostError(
      'E_NODE_VERSION',
      `build must run on the pinned Node ${version} (this is ${process.versions.node}); use npm run build`,
    );
  }
  return version;
}

async function build(arches: readonly Arch[], programs: readonly Program[], force: boolean, compress: boolean): Promise<void> {
  const version = pinnedNodeVersion();
  // Look the tools up before any slow work, so a missing one fails in the first second.
  const strips: Record<Arch, string | null> = {
    x64: arches.includes('x64') ? findTool(STRIP) : null,
    arm64: arches.includes('arm64') ? findTool(STRIP_ARM64) : null,
  };
  if (compress) findTool(XZ);
  for (const program of programs) await buildProgram(program, arches, strips, version, force, compress);
}

/** Builds the dashboard's files into dist/dashboard/; returns the SEA asset map (paths relative to dist/). */
async function writeDashboard(): Promise<Record<string, string>> {
  const files = await buildDashboard(esbuild);
  mkdirSync(join(DIST, 'dashboard'), { recursive: true });
  const assets: Record<string, string> = {};
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(DIST, 'dashboard', name), body);
    assets[seaKey(name)] = `dashboard/${name}`;
  }
  log(`dashboard ${Object.entries(files).map(([n, b]) => `${n} ${kib(b.length)}`).join(', ')}`);
  return assets;
}

async function buildProgram(program: Program, arches: readonly Arch[], strips: Record<Arch, string | null>, version: string, force: boolean, compress: boolean): Promise<void> {
  const BUNDLE_FILE = bundleFile(program);
  const bundle = await bundleAgent(BUNDLE_FILE, program);
  log(`bundle ${relative(ROOT, bundle.file)} ${kib(bundle.bytes)}`);
  for (const [name, bytes] of bundle.byPackage.slice(0, 6)) log(`  ${name.padEnd(22)} ${kib(bytes)}`);
  if (bundle.optional.length > 0) log(`  left out (optional, required in try/catch): ${bundle.optional.join(', ')}`);

  // The hub's dashboard page ships inside its binary as SEA assets (hub/dashboard/assets.ts); the
  // agent's bundle is an asset of its own binary, run by a small main (scripts/build/sea.ts).
  const assets = program === 'hub' ? await writeDashboard() : { [PROGRAM_ASSET]: relative(DIST, AGENT_PROGRAM_FILE) };
  if (program === 'agent') {
    writeFileSync(AGENT_PROGRAM_FILE, wrapProgram(readFileSync(BUNDLE_FILE, 'utf8')));
    await bundleSeaMain(AGENT_MAIN_FILE);
  }
  const main = program === 'agent' ? AGENT_MAIN_FILE : BUNDLE_FILE;
  const inputs = inputsDigest(Buffer.concat([readFileSync(main), ...Object.values(assets).map((f) => readFileSync(join(DIST, f)))]));
  const old = readStamp(program);
  const todo = arches.filter((a) => force || !isFresh(old, version, inputs, a, program));
  const stamp: Stamp = { node: version, inputs, binaries: old?.node === version && old.inputs === inputs ? { ...old.binaries } : {} };
  if (todo.length > 0) {
    for (const arch of todo) {
      const codeCache = arch === 'x64'; // see scripts/build/sea.ts for why arm64 has none
      const archAssets = { ...assets };
      if (codeCache && program === 'agent') {
        const caches = trainCodeCaches(AGENT_PROGRAM_FILE, AGENT_CODE_CACHE);
        Object.assign(archAssets, caches);
        const sizes = Object.entries(caches).map(([key, f]) => `${key.split('/').pop()} ${kib(statSync(join(DIST, f)).size)}`);
        log(`code caches ${relative(ROOT, AGENT_CODE_CACHE)}/: ${sizes.join(', ')} (trained: the program run through its commands)`);
      }
      const blob = makeBlob(main, blobPath(arch, program), codeCache, program === 'agent' ? RUNTIME_FLAGS : HUB_RUNTIME_FLAGS, archAssets);
      log(`SEA blob ${relative(ROOT, blobPath(arch, program))} ${kib(blob.length)}${codeCache ? ' (with V8 code cache)' : ' (script only)'}`);
      const runtime = arch === 'x64' ? PINNED_NODE : await arm64Node(version, log);
      removeArtifacts(binaryPath(arch, program));
      const size = await makeBinary(runtime, strips[arch]!, blob, binaryPath(arch, program));
      stamp.binaries[arch] = binaryRecord(arch, program);
      log(`${relative(ROOT, binaryPath(arch, program))} ${mib(size)} (runtime ${mib(statSync(runtime).size)} before strip)`);
    }
    writeFileSync(stampFile(program), JSON.stringify(stamp, null, 2) + '\n');
  }
  for (const arch of arches.filter((a) => !todo.includes(a))) {
    log(`${relative(ROOT, binaryPath(arch, program))} ${mib(statSync(binaryPath(arch, program)).size)} (up to date)`);
  }
  for (const arch of arches) {
    const bin = binaryPath(arch, program);
    if (!compress) {
      removeArtifacts(bin);
      continue;
    }
    const a = artifactPaths(bin);
    if (!todo.includes(arch) && existsSync(a.xz) && a.sums.every((f) => existsSync(f))) continue;
    const xzSize = await compressArtifacts(bin);
    log(`${relative(ROOT, a.xz)} ${mib(xzSize)} (xz -6), with ${a.sums.map((f) => relative(ROOT, f)).join(', ')}`);
  }
}

const { values } = parseArgs({
  options: { arch: { type: 'string', multiple: true }, program: { type: 'string', multiple: true }, force: { type: 'boolean', default: false }, 'no-compress': { type: 'boolean', default: false } },
});
try {
  const arches = values.arch ?? [...ARCHES];
  for (const a of arches) {
    if (!ARCHES.includes(a as Arch)) throw new OutpostError('E_USAGE', `unknown --arch ${a} (x64 or arm64)`);
  }
  const programs = values.program ?? [...PROGRAMS];
  for (const p of programs) {
    if (!PROGRAMS.includes(p as Program)) throw new OutpostError('E_USAGE', `unknown --program ${p} (agent or hub)`);
  }
  mkdirSync(DIST, { recursive: true });
  await withLock(join(DIST, '.build.lock'), () => build(arches as Arch[], programs as Program[], values.force, !values['no-compress']));
} catch (err) {
  if (!isOutpostError(err)) throw err;
  process.stderr.write(`${err.code}: ${err.message}\n`);
  process.exitCode = 1;
}
