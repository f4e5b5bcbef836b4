// A format-2 index built straight from an image, and images written to files, for the tests of
// what a delta looks at in the local slots (local-probe, table-sample).
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoredIndex, groupDigestOf } from '../../../shared/bundle/stored-index.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';

/** A format-2 index of `image` (blocks of BS bytes, groups of G): a zero block stores in 14 bytes, any other block raw. */
export function indexOfImage(image: Buffer, BS: number, G: number): StoredIndex {
  const blocks = image.length / BS;
  const digests = Array.from({ length: blocks }, (_, i) => createHash('sha256').update(image.subarray(i * BS, (i + 1) * BS)).digest());
  const sizes = Buffer.alloc(blocks * 2);
  let stored = blocks * 32;
  for (let i = 0; i < blocks; i++) {
    const s = image.subarray(i * BS, (i + 1) * BS).every((b) => b === 0) ? 14 : BS;
    sizes.writeUInt16BE(s - 1, i * 2);
    stored += s;
  }
  const groupDigests = Array.from({ length: Math.ceil(blocks / G) }, (_, g) => groupDigestOf(Buffer.concat(digests.slice(g * G, g * G + G))));
  const entry: PayloadEntry = {
    name: 'p', slotClass: 'rootfs', size: image.length, sha256: '0'.repeat(64), blockSize: BS, blocks,
    indexSha256: '0'.repeat(64), groupBlocks: G, storedSize: stored,
  };
  return new StoredIndex(entry, Buffer.concat([...groupDigests, sizes]));
}

export async function withFiles(contents: Buffer[], fn: (files: Array<{ path: string; length: number }>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'probe-'));
  try {
    const files = await Promise.all(contents.map(async (c, k) => {
      const path = join(dir, `slot${k}`);
      await writeFile(path, c);
      return { path, length: c.length };
    }));
    await fn(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
