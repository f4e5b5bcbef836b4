// Where every entry sits in a bundle. The whole layout follows from the manifest and its byte
// length, so a fetcher can compute Range offsets without scanning the tar.
import { entrySpan, INDEX_PREFIX, indexEntrySize, MANIFEST_NAME, PAYLOAD_PREFIX, payloadEntrySize, SIGNATURES_NAME, SIGNATURES_SIZE, TAR_BLOCK, TAR_EOF_BYTES } from './format.ts';
import type { Manifest } from './types.ts';

export type EntryKind = 'manifest' | 'signatures' | 'index' | 'payload';

export interface EntryLayout {
  readonly name: string;
  readonly kind: EntryKind;
  /** Payload name for index and payload entries. */
  readonly payload?: string;
  readonly size: number;
  readonly headerOffset: number;
  readonly dataOffset: number;
}

export interface BundleLayout {
  readonly entries: readonly EntryLayout[];
  /** Bytes before the first payload's data: what readHead returns as headBytes. */
  readonly headSize: number;
  /** Exact length of the bundle, including the two zero blocks at the end. */
  readonly totalSize: number;
}

/** Manifest, signatures, every block index (in payload order), every payload, then end of archive. */
export function entryOrder(manifest: Manifest, manifestSize: number): Array<Omit<EntryLayout, 'headerOffset' | 'dataOffset'>> {
  return [
    { name: MANIFEST_NAME, kind: 'manifest', size: manifestSize },
    { name: SIGNATURES_NAME, kind: 'signatures', size: SIGNATURES_SIZE },
    ...manifest.payloads.map((p) => ({ name: INDEX_PREFIX + p.name, kind: 'index' as const, payload: p.name, size: indexEntrySize(p) })),
    ...manifest.payloads.map((p) => ({ name: PAYLOAD_PREFIX + p.name, kind: 'payload' as const, payload: p.name, size: payloadEntrySize(p) })),
  ];
}

export function bundleLayout(manifest: Manifest, manifestSize: number): BundleLayout {
  let at = 0;
  const entries = entryOrder(manifest, manifestSize).map((e) => {
    const l = { ...e, headerOffset: at, dataOffset: at + TAR_BLOCK };
    at += entrySpan(e.size);
    return Object.freeze(l);
  });
  const firstPayload = entries.find((e) => e.kind === 'payload')!;
  return { entries, headSize: firstPayload.dataOffset, totalSize: at + TAR_EOF_BYTES };
}

/** Offset of the signatures entry's data: fixed once the manifest is written. */
export function signaturesDataOffset(manifestSize: number): number {
  return entrySpan(manifestSize) + TAR_BLOCK;
}
