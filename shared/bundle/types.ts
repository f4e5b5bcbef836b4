// Bundle manifest types (format version 1). The normative description is shared/BUNDLE-SPEC.md.

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
  /** sha256 (hex) of the block index entry (the concatenated per-block sha256 digests). */
  readonly indexSha256: string;
}

export interface Manifest {
  readonly format: 1;
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
