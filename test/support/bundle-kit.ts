// Real signed bundles for update tests: one key, an "old" image already in slot A and a bundle
// of a "new" image, made with the same code as `outpost bundle create`.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeBundle, makeImage, makeKeys, makeTrustDir, TEST_COMPATIBLE, type TestKey } from './bundle-fixtures.ts';
import type { BundleKit, Image } from './test-node.ts';

export interface KitOptions {
  imageSize: number;
  blockSize: number;
  /** Size of the image already in slot A (default imageSize). */
  oldSize?: number;
  /** Bundle format (default 1). */
  format?: 1 | 2;
  /** An image file to ship instead of a random one of imageSize (it keeps its own size). */
  newImage?: string;
}

export async function makeKit(opts: KitOptions): Promise<BundleKit & { older: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-kit-'));
  const keys = await makeKeys(join(dir, 'keys'));
  const old = await image(join(dir, 'old.img'), opts.oldSize ?? opts.imageSize, 1);
  const fresh = opts.newImage ? await imageOf(opts.newImage) : await image(join(dir, 'new.img'), opts.imageSize - 3 * 1000, 2); // not block-aligned on purpose
  const bundle = join(dir, 'new.bundle');
  await makeBundle({ image: fresh.path, out: bundle, keys, version: '2.0.0', release: 2, blockSize: opts.blockSize, format: opts.format });
  const older = join(dir, 'older.bundle');
  await makeBundle({ image: old.path, out: older, keys, version: '1.0.0', release: 1, blockSize: opts.blockSize, format: opts.format });
  return {
    bundle,
    older,
    old,
    new: fresh,
    bundleConfig: (nodeRoot, configRoot) => bundleConfig(nodeRoot, configRoot, keys),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

async function bundleConfig(nodeRoot: string, configRoot: string, keys: readonly TestKey[]): Promise<Record<string, unknown>> {
  await makeTrustDir(join(nodeRoot, 'etc/outpost/trust'), keys);
  // Config paths are joined to core.root: with root "/" they must name the node's directory.
  const at = (p: string) => (configRoot === '/' ? join(nodeRoot, p) : p);
  return { trustStore: at('/etc/outpost/trust'), floorFile: at('/state/release-floor'), compatible: [TEST_COMPATIBLE] };
}

async function image(path: string, size: number, seed: number): Promise<Image> {
  await makeImage(path, size, seed);
  return imageOf(path);
}

async function imageOf(path: string): Promise<Image> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { path, size, sha256: hash.digest('hex') };
}
