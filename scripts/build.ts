// `npm run build`: dist/outpost (x86-64) and dist/outpost-arm64, Node single executables made
// from one esbuild bundle. Skips the slow steps when dist/ already matches the sources.
//   node scripts/build.ts [--arch x64|arm64 (repeatable; default both)] [--force]
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isOutpostError, OutpostError } from '../shared/errors.ts';
import { bundleAgent } from './build/bundle.ts';
import { makeBinary } from './build/inject.ts';
import { withLock } from './build/lock.ts';
import { arm64Node } from './build/node-arm64.ts';
import { ARCHES, BUNDLE_FILE, DIST, PINNED_NODE, PINNED_NODE_PACKAGE, ROOT, STAMP_FILE, binaryPath, blobPath, type Arch } from './build/paths.ts';
import { makeBlob } from './build/sea.ts';
import { binaryRecord, inputsDigest, isFresh, readStamp, type Stamp } from './build/stamp.ts';
import { STRIP, STRIP_ARM64, findTool } from './build/tools.ts';

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

async function build(arches: readonly Arch[], force: boolean): Promise<void> {
  const version = pinnedNodeVersion();
  // Look the tools up before any slow work, so a missing one fails in the first second.
  const strips: Record<Arch, string | null> = {
    x64: arches.includes('x64') ? findTool(STRIP) : null,
    arm64: arches.includes('arm64') ? findTool(STRIP_ARM64) : null,
  };
  const bundle = await bundleAgent(BUNDLE_FILE);
  log(`bundle ${relative(ROOT, bundle.file)} ${kib(bundle.bytes)}`);
  for (const [name, bytes] of bundle.byPackage.slice(0, 6)) log(`  ${name.padEnd(22)} ${kib(bytes)}`);
  if (bundle.optional.length > 0) log(`  left out (optional, required in try/catch): ${bundle.optional.join(', ')}`);

  const inputs = inputsDigest(readFileSync(BUNDLE_FILE));
  const old = readStamp();
  const todo = arches.filter((a) => force || !isFresh(old, version, inputs, a));
  const stamp: Stamp = { node: version, inputs, binaries: old?.node === version && old.inputs === inputs ? { ...old.binaries } : {} };
  if (todo.length > 0) {
    for (const arch of todo) {
      const codeCache = arch === 'x64'; // see scripts/build/sea.ts for why arm64 has none
      const blob = makeBlob(BUNDLE_FILE, blobPath(arch), codeCache);
      log(`SEA blob ${relative(ROOT, blobPath(arch))} ${kib(blob.length)}${codeCache ? ' (with V8 code cache)' : ' (script only)'}`);
      const runtime = arch === 'x64' ? PINNED_NODE : await arm64Node(version, log);
      const size = await makeBinary(runtime, strips[arch]!, blob, binaryPath(arch));
      stamp.binaries[arch] = binaryRecord(arch);
      log(`${relative(ROOT, binaryPath(arch))} ${mib(size)} (runtime ${mib(statSync(runtime).size)} before strip)`);
    }
    writeFileSync(STAMP_FILE, JSON.stringify(stamp, null, 2) + '\n');
  }
  for (const arch of arches.filter((a) => !todo.includes(a))) {
    log(`${relative(ROOT, binaryPath(arch))} ${mib(statSync(binaryPath(arch)).size)} (up to date)`);
  }
}

const { values } = parseArgs({
  options: { arch: { type: 'string', multiple: true }, force: { type: 'boolean', default: false } },
});
try {
  const arches = values.arch ?? [...ARCHES];
  for (const a of arches) {
    if (!ARCHES.includes(a as Arch)) throw new OutpostError('E_USAGE', `unknown --arch ${a} (x64 or arm64)`);
  }
  mkdirSync(DIST, { recursive: true });
  await withLock(join(DIST, '.build.lock'), () => build(arches as Arch[], values.force));
} catch (err) {
  if (!isOutpostError(err)) throw err;
  process.stderr.write(`${err.code}: ${err.message}\n`);
  process.exitCode = 1;
}
