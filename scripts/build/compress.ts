// Transport artifacts beside each binary: `<binary>.xz` and a sha256 file for each, in
// `sha256sum -c` format. Nearly all of a binary is the Node runtime, which xz shrinks to a quarter.
import { createHash } from 'node:crypto';
import { createReadStream, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { spawnSync } from 'node:child_process';
import { OutpostError } from '../../shared/errors.ts';
import { findTool, type Tool } from './tools.ts';

export const XZ: Tool = { name: 'xz', pkg: 'xz-utils' };

export function artifactPaths(binary: string): { xz: string; sums: string[] } {
  return { xz: `${binary}.xz`, sums: [`${binary}.sha256`, `${binary}.xz.sha256`] };
}

/** Removes a binary's artifacts (a rebuilt binary must not sit beside an old archive). */
export function removeArtifacts(binary: string): void {
  const a = artifactPaths(binary);
  for (const f of [a.xz, ...a.sums]) rmSync(f, { force: true });
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** xz -6 with every core; returns the compressed size. Written atomically. */
export async function compressArtifacts(binary: string): Promise<number> {
  const xz = findTool(XZ);
  const a = artifactPaths(binary);
  const tmp = `${a.xz}.tmp-${process.pid}`;
  try {
    const r = spawnSync('sh', ['-c', `"$0" -6 -T0 -c -- "$1" > "$2"`, xz, binary, tmp], { encoding: 'utf8' });
    if (r.status !== 0) throw new OutpostError('E_BUILD_STEP', `xz ${binary} exited ${r.status ?? r.signal}: ${r.stderr}`);
    renameSync(tmp, a.xz);
  } finally {
    rmSync(tmp, { force: true });
  }
  writeFileSync(a.sums[0]!, `${await sha256File(binary)}  ${basename(binary)}\n`);
  writeFileSync(a.sums[1]!, `${await sha256File(a.xz)}  ${basename(a.xz)}\n`);
  return statSync(a.xz).size;
}
