// Build record next to the binaries: what they were made from. A rebuild whose bundle, build
// scripts and Node version match the record, and whose binaries are untouched, is skipped.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, binaryPath, stampFile, type Arch, type Program } from './paths.ts';

export interface BinaryRecord {
  size: number;
  mtimeMs: number;
}

export interface Stamp {
  node: string;
  /** sha256 of the bundle plus the build scripts: any change to either means new binaries. */
  inputs: string;
  binaries: Partial<Record<Arch, BinaryRecord>>;
}

export function inputsDigest(bundle: Buffer): string {
  const h = createHash('sha256').update(bundle);
  const dir = join(ROOT, 'scripts', 'build');
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.ts')) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

export function readStamp(p: Program): Stamp | null {
  try {
    return JSON.parse(readFileSync(stampFile(p), 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

export function binaryRecord(arch: Arch, p: Program): BinaryRecord {
  const st = statSync(binaryPath(arch, p));
  return { size: st.size, mtimeMs: st.mtimeMs };
}

export function isFresh(stamp: Stamp | null, node: string, inputs: string, arch: Arch, p: Program): boolean {
  const rec = stamp?.binaries[arch];
  if (!stamp || !rec || stamp.node !== node || stamp.inputs !== inputs || !existsSync(binaryPath(arch, p))) return false;
  const now = binaryRecord(arch, p);
  return now.size === rec.size && now.mtimeMs === rec.mtimeMs;
}
