// Main of the agent's single binary: runs the program it carries (program-script.ts). Bundled by
// esbuild into a small CommonJS file, the SEA's main script. Without a code cache (arm64), or
// with one V8 refuses (NODE_OPTIONS added a flag it hashes), the program compiles as usual;
// NODE_DEBUG=outpost says which.
import { getRawAsset } from 'node:sea';
import { debuglog } from 'node:util';
import { cacheAsset, cacheModeOf, compileProgram, PROGRAM_ASSET, runProgram } from './program-script.ts';
import { defaultFlagsWhileLoading, startedWithBalancer } from './loading-flags.ts';

// First: built-in modules load from Node's own code cache only under V8's default flags.
const atDefaults = startedWithBalancer(process.execArgv, process.env.NODE_OPTIONS);
const loaded = atDefaults ? defaultFlagsWhileLoading() : () => {};

const mode = cacheModeOf(process.argv.slice(2));
let cache: Uint8Array | undefined;
try {
  cache = new Uint8Array(getRawAsset(cacheAsset(mode))); // the binary's own bytes: no copy
} catch {
  cache = undefined; // no cache in this binary
}
// Buffer's UTF-8 decoder: getAsset(key, 'utf8') would go through TextDecoder.
const { script, cacheRejected } = compileProgram(Buffer.from(getRawAsset(PROGRAM_ASSET)).toString('utf8'), cache);
debuglog('outpost')(`code cache ${mode}: ${cache === undefined ? 'none in this binary' : cacheRejected ? 'rejected by V8, compiled from source' : 'accepted'}; balancer flags at V8's defaults while loading: ${atDefaults ? 'yes' : 'no'}`);
runProgram(script, __filename, require).start(loaded);
