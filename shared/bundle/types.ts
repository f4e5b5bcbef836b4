// Bundle manifest types (format versions 1 and 2). The normative description is shared/BUNDLE-SPEC.md.

export interface PayloadEntry {
  /** Entry name inside the bundle, e.g. "rootfs.img". */
  readonly name: string;
  /** Slot class this payload is written to, e.g. "rootfs". */
  readonly slotClass: string;
  /** Exact payload size in bytes. */
  readonly size: number;
  /** sha256 (hex) of the whole payload. */
  readonly sha256: string;
  /** Fixed block size of the block index (power of two). */
  readonly blockSize: number;
  /** Number of blocks: ceil(size / blockSize). */
  readonly blocks: number;
  /** sha256 (hex) of the block index entry (format 1: per-block digests; format 2: see BUNDLE-SPEC.md §12). */
  readonly indexSha256: string;
  /** Format 2: blocks per group (one group digest in the index per group). */
  readonly groupBlocks?: number;
  /** Format 2: size of the payload entry (group tables + stored, possibly compressed, blocks). */
  readonly storedSize?: number;
}

export interface Manifest {
  readonly format: 1 | 2;
  /** Human version string, e.g. "2026.11.3". */
  readonly version: string;
  /** Monotonic release number used for anti-rollback. */
  readonly release: number;
  /** Hardware compatibility strings; a node accepts the bundle if it matches one. */
  readonly compatible: readonly string[];
  /** ISO-8601 creation time (also feeds the node's trusted time floor). */
  readonly created: string;
  readonly payloads: readonly PayloadEntry[];
}
