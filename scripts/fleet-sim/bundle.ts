// A small signed bundle for simulated rollouts, made with the real bundle CLI (`outpost bundle
// keygen` + `create`): the hub registers it from its signed manifest like any other.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const OUTPOST = resolve(import.meta.dirname, '../../bin/outpost.js');
const run = promisify(execFile);

export async function makeBundle(dir: string, o: { version: string; release: number; compatible: string; bundlesDir: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  const keys = join(dir, 'keys');
  await run(process.execPath, [OUTPOST, 'bundle', 'keygen', '--out', keys, '--id', 'sim-ci']).catch((err: { stderr?: string }) => {
    if (!/exist/i.test(err.stderr ?? '')) throw err; // one key for every bundle of the run
  });
  const image = join(dir, `image-${o.version}.img`);
  await writeFile(image, Buffer.alloc(64 * 1024, o.version));
  const name = `sim-${o.version}.bundle`;
  await run(process.execPath, [OUTPOST, 'bundle', 'create', '--image', image, '--version', o.version, '--release', String(o.release),
    '--compatible', o.compatible, '--key', join(keys, 'sim-ci.key'), '--block-size', '64K', '--out', join(o.bundlesDir, name)]);
  return name;
}
