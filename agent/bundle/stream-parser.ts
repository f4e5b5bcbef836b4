// Synchronous push parser for one bundle stream. Two views of the same bytes, fed in lockstep:
//  - the `tar` package's strict Parser, which demultiplexes entries and delivers their data;
//  - the framing guard (framing-guard.ts) over the raw bytes: canonical headers, zero padding,
//    end of archive, no trailing data, absolute offsets.
// This class adds the meaning: entry order, sizes against the manifest, head verification,
// retained head bytes, and payload blocks cut for the verify pipeline (verify-pipeline.ts) with
// their digests from the index. It hashes no payload byte itself.
// Pieces are cut at framing boundaries and at most PIECE bytes. The tar parser sees each piece
// first: it holds back body bytes until it has 512, but once a header's last byte reached it,
// every byte before that header has been delivered. So when the guard then checks the header,
// the previous entries are complete, and the tar view's entry sizes are checked against it.
// Entry content is taken from the raw pieces the guard frames (so a source may reuse its chunk
// buffers once step() returned: everything kept is copied); the tar parser, which keeps
// references to the tails of what it is given, gets framing bytes as copies and payload bytes
// only to count. A piece completes at most STEP_BLOCKS blocks (format 2's are cut to the stored
// bytes of that many: a compressible block may be stored in a few bytes), so memory stays at a
// few blocks whatever the image size and however well it compresses.
import { createHash } from 'node:crypto';
import { Parser, type ReadEntry } from 'tar';
import { OutpostError } from '../../shared/errors.ts';
import {
  indexEntrySize, INDEX_PREFIX, MANIFEST_NAME, MAX_HEAD_BYTES, MAX_MANIFEST_BYTES, NAME_RE,
  PAYLOAD_PREFIX, SIGNATURES_NAME, SIGNATURES_SIZE, TAR_BLOCK,
} from '../../shared/bundle/format.ts';
import { bundleLayout, type BundleLayout, type EntryLayout } from '../../shared/bundle/layout.ts';
import type { HeaderCheck } from '../../shared/bundle/tar-header.ts';
import { FramingGuard } from './framing-guard.ts';
import type { Manifest, PayloadEntry } from '../../shared/bundle/types.ts';
import type { UncheckedBlock } from './block-cutter.ts';
import { BlockPool } from './block-pool.ts';
import { payloadCutter, type PayloadCutter } from './payload-stream.ts';
import { StoredIndex } from '../../shared/bundle/stored-index.ts';
import type { VerifiedHead, VerifiedPayload } from './types.ts';
import { PageableHead } from './verified-head.ts';

const EMPTY = Buffer.alloc(0);

/**
 * Most bytes one step() consumes: it may cut several small blocks before any is taken from it.
 * A step costs the same whatever its size (tar, the framing guard, the cutter's look ahead): one
 * per pipeline run of raw 4 KiB blocks.
 */
const PIECE = 256 * 1024;
/** Most blocks one step() completes that need a buffer of their own (format 2 stores a compressible block in a few bytes). */
export const STEP_BLOCKS = 16;

/** Verifies manifest bytes against the signature block (and policy); returns the manifest. */
export type HeadCheck = (manifestBytes: Buffer, signatureBlock: Buffer) => { manifest: Manifest; signers: string[] };

export type ParseEvent =
  | { readonly kind: 'begin'; readonly payload: PayloadEntry }
  | { readonly kind: 'block'; readonly block: UncheckedBlock }
  | { readonly kind: 'end'; readonly payload: PayloadEntry };

interface Current {
  readonly layout: EntryLayout;
  readonly tarEntry: ReadEntry;
  readonly collect: Buffer[] | null; // head entries are collected whole (bounded by the limits)
  received: number;
  /** Bytes of this entry the tar parser delivered (its view, only counted). */
  tarReceived: number;
  cutter: PayloadCutter | null;
}

export class BundleStreamParser {
  readonly #checkHead: HeadCheck;
  readonly #pool: BlockPool;
  readonly #tar: Parser;
  #failure: OutpostError | null = null;

  readonly #guard = new FramingGuard((h, offset) => this.#onHeader(h, offset));
  // The head's bytes, kept once: in pieces until the signed layout gives the head's size, then in
  // one buffer of that size, of which the index entries are views (at 2 GiB and 4 KiB blocks the
  // head is 2 MiB: copies of it per entry and per concatenation were most of an install's memory).
  #headParts: Buffer[] | null = [];
  #headBuf: Buffer | null = null;
  #headLength = 0;

  // entry sequence
  #count = 0;
  readonly #seen = new Set<string>();
  #current: Current | null = null;
  /** Entry the tar parser announced and the guard has not yet matched to a header. */
  #tarEntry: ReadEntry | null = null;
  #manifestBytes: Buffer | null = null;
  #verified: { manifest: Manifest; signers: string[]; layout: BundleLayout } | null = null;
  readonly #indexes = new Map<string, Buffer>();
  readonly #stored = new Map<string, StoredIndex>();
  #head: VerifiedHead | null = null;
  #events: ParseEvent[] = [];
  /** A payload's `end` waits until the bytes after it (padding, next header or end of archive) check out. */
  #pendingEnd: PayloadEntry | null = null;

  /** pool: where payload blocks are cut into (a head-only parse never takes one). */
  constructor(checkHead: HeadCheck, pool: BlockPool = new BlockPool(0)) {
    this.#checkHead = checkHead;
    this.#pool = pool;
    // gzip is sniffed by the tar parser regardless; the guard rejects it first (not a ustar header).
    this.#tar = new Parser({ strict: true, brotli: false, zstd: false, maxMetaEntrySize: 1 });
    this.#tar.on('error', (err: Error) => this.#fail(new OutpostError('E_BUNDLE_TAR', `tar: ${err.message}`, { cause: err })));
    this.#tar.on('entry', (e: ReadEntry) => this.#onTarEntry(e));
    this.#tar.on('meta', () => this.#fail(new OutpostError('E_BUNDLE_ENTRY_TYPE', 'extended (pax/GNU) headers are not allowed')));
    this.#tar.on('ignoredEntry', (e: ReadEntry) => this.#fail(new OutpostError('E_BUNDLE_ENTRY_TYPE', `entry "${e.path}" has an unsupported type`)));
  }

  /** Set once everything before the first payload's data has been verified. */
  get head(): VerifiedHead | null {
    return this.#head;
  }

  get position(): number {
    return this.#guard.position;
  }

  takeEvents(): ParseEvent[] {
    const e = this.#events;
    this.#events = [];
    return e;
  }

  /** Consumes one piece of data[offset..]; returns the number of bytes consumed. Throws on the first fault. */
  step(data: Buffer, offset: number): number {
    if (this.#failure) throw this.#failure;
    const content = this.#guard.inData && this.#current !== null;
    let n = Math.min(data.length - offset, this.#guard.untilBoundary, PIECE);
    const cutter = content ? this.#current!.cutter : null;
    if (cutter) n = Math.min(n, cutter.stepLimit(STEP_BLOCKS, n));
    const piece = data.subarray(offset, offset + n);
    this.#retainHead(piece); // first: the guard completes the head on the header piece itself
    this.#tar.write(content ? piece : Buffer.from(piece));
    if (content) this.#onData(this.#current!, piece);
    this.#guard.consume(piece); // its specific codes win over the tar parser's generic one
    if (this.#failure) throw this.#failure;
    return n;
  }

  /** The stream stops here (failure or done): a partly cut block goes back to the pool. */
  release(): void {
    this.#current?.cutter?.release();
  }

  /** End of input: the archive must be complete. */
  finish(): void {
    if (this.#failure) throw this.#failure;
    if (!this.#guard.done) {
      // retryable: a cut stream is a transport fault; fetching again can succeed
      throw new OutpostError('E_BUNDLE_TRUNCATED', `bundle ends at byte ${this.#guard.position}, inside ${this.#current?.layout.name ?? 'the archive framing'}`, { retryable: true });
    }
    this.#tar.end();
    if (this.#failure) throw this.#failure;
    this.#releaseEnd();
  }

  #releaseEnd(): void {
    if (this.#pendingEnd) this.#events.push({ kind: 'end', payload: this.#pendingEnd });
    this.#pendingEnd = null;
  }

  #fail(err: OutpostError): void {
    this.#failure ??= err;
  }

  #retainHead(piece: Buffer): void {
    if (this.#head) return;
    const at = this.#headLength;
    this.#headLength += piece.length;
    if (this.#headLength > MAX_HEAD_BYTES) {
      throw new OutpostError('E_BUNDLE_HEAD_SIZE', `bundle head exceeds ${MAX_HEAD_BYTES} bytes`);
    }
    if (this.#headBuf) {
      if (this.#headLength > this.#headBuf.length) throw new OutpostError('E_BUNDLE_TAR', 'internal: head longer than its layout');
      this.#headBuf.set(piece, at);
    } else {
      this.#headParts!.push(Buffer.from(piece)); // copy: the source may reuse its buffers
    }
  }

  /** The signed layout is known: the head goes on in one buffer of its size. */
  #sizeHead(headSize: number): void {
    const buf = Buffer.allocUnsafeSlow(headSize); // own allocation: freed whole when the head is
    let at = 0;
    for (const part of this.#headParts!) at += part.copy(buf, at);
    this.#headParts = null;
    this.#headBuf = buf;
  }

  #onHeader(h: HeaderCheck, offset: number): void {
    const prev = this.#current;
    if (prev && prev.tarReceived !== prev.layout.size) {
      throw new OutpostError('E_BUNDLE_TAR', `tar parser and framing disagree on the length of "${prev.layout.name}"`);
    }
    if (h.kind === 'eof') {
      const missing = this.#expected(this.#count);
      if (missing) throw new OutpostError('E_BUNDLE_ENTRY_MISSING', `archive ends before entry "${missing}"`);
      return;
    }
    const layout = this.#accept(h.name, h.size, offset);
    this.#releaseEnd();
    // Both views must agree on every entry; a disagreement means a framing trick.
    const te = this.#tarEntry;
    this.#tarEntry = null;
    if (!te || te.path !== h.name || te.size !== h.size || te.type !== 'File') {
      throw new OutpostError('E_BUNDLE_TAR', `tar parser and framing disagree at entry "${h.name}"`);
    }
    if (layout.kind === 'payload' && !this.#head) this.#completeHead(offset + TAR_BLOCK);
    const payload = layout.kind === 'payload' ? this.#head!.payloads.find((p) => p.entry.name === layout.payload)! : null;
    this.#current = {
      layout,
      tarEntry: te,
      collect: payload ? null : [],
      received: 0,
      tarReceived: 0,
      cutter: payload ? payloadCutter(payload, this.#pool, 0) : null,
    };
    if (payload) this.#events.push({ kind: 'begin', payload: payload.entry });
  }

  /** Name of the entry expected at position k, or null when all entries were seen. */
  #expected(k: number): string | null {
    if (!this.#verified) return k === 0 ? MANIFEST_NAME : SIGNATURES_NAME;
    return this.#verified.layout.entries[k]?.name ?? null;
  }

  #accept(name: string, size: number, offset: number): EntryLayout {
    const k = this.#count;
    const want = this.#expected(k);
    if (want === null) throw new OutpostError('E_BUNDLE_ENTRY_EXTRA', `extra entry "${name}" after the last payload`);
    if (name !== want) {
      if (this.#seen.has(name)) throw new OutpostError('E_BUNDLE_ENTRY_DUPLICATE', `entry "${name}" appears twice`);
      if (this.#knownLater(name)) throw new OutpostError('E_BUNDLE_ENTRY_ORDER', `entry "${name}" where "${want}" belongs`);
      throw new OutpostError('E_BUNDLE_ENTRY_UNKNOWN', `unknown entry "${name}" (expected "${want}")`);
    }
    this.#seen.add(name);
    this.#count++;
    let layout: EntryLayout;
    if (k === 0) {
      if (size === 0) throw new OutpostError('E_BUNDLE_MANIFEST', 'manifest entry is empty');
      if (size > MAX_MANIFEST_BYTES) throw new OutpostError('E_BUNDLE_MANIFEST_SIZE', `manifest is ${size} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
      layout = { name, kind: 'manifest', size, headerOffset: offset, dataOffset: offset + TAR_BLOCK };
    } else if (k === 1) {
      layout = { name, kind: 'signatures', size: SIGNATURES_SIZE, headerOffset: offset, dataOffset: offset + TAR_BLOCK };
    } else {
      layout = this.#verified!.layout.entries[k]!;
    }
    if (size !== layout.size) {
      throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `entry "${name}" is ${size} bytes; the manifest implies ${layout.size}`);
    }
    if (offset !== layout.headerOffset) throw new OutpostError('E_BUNDLE_TAR', `entry "${name}" at ${offset}, expected ${layout.headerOffset}`);
    return layout;
  }

  #knownLater(name: string): boolean {
    if (this.#verified) return this.#verified.layout.entries.some((e, i) => i >= this.#count && e.name === name);
    if (name === MANIFEST_NAME || name === SIGNATURES_NAME) return true;
    for (const p of [INDEX_PREFIX, PAYLOAD_PREFIX]) if (name.startsWith(p) && NAME_RE.test(name.slice(p.length))) return true;
    return false;
  }

  #payload(name: string): VerifiedPayload {
    const v = this.#verified!;
    const entry = v.manifest.payloads.find((p) => p.name === name)!;
    const dataOffset = v.layout.entries.find((e) => e.kind === 'payload' && e.payload === name)!.dataOffset;
    const blockHashes = this.#indexes.get(name) ?? EMPTY; // format 2: its StoredIndex holds the index
    return { entry, dataOffset, blockHashes, stored: this.#stored.get(name) ?? null };
  }

  #completeHead(headSize: number): void {
    const v = this.#verified!;
    const headBytes = this.#headBuf;
    if (!headBytes || headBytes.length !== headSize || this.#headLength !== headSize) throw new OutpostError('E_BUNDLE_TAR', 'internal: head length mismatch');
    const indexAt = new Map<string, number>();
    for (const e of v.layout.entries) if (e.kind === 'index' && this.#stored.has(e.payload!)) indexAt.set(e.payload!, e.dataOffset);
    const payloads = Object.freeze(v.manifest.payloads.map((p) => Object.freeze(this.#payload(p.name))));
    this.#head = Object.freeze(new PageableHead(v.manifest, headBytes, payloads, Object.freeze([...v.signers]), indexAt));
    // the head holds what is kept of these now, so it alone can let the bytes go (pageFrom)
    this.#headBuf = null;
    this.#manifestBytes = null;
    this.#indexes.clear();
  }

  #onTarEntry(e: ReadEntry): void {
    if (this.#tarEntry) this.#fail(new OutpostError('E_BUNDLE_TAR', `tar entry "${e.path}" has no matching header`));
    this.#tarEntry = e;
    e.on('data', (chunk: Buffer) => {
      if (this.#failure) return;
      try {
        const c = this.#current;
        if (!c || c.tarEntry !== e) throw new OutpostError('E_BUNDLE_TAR', `data for tar entry "${e.path}" outside its frame`);
        c.tarReceived += chunk.length;
      } catch (err) {
        this.#fail(err instanceof OutpostError ? err : new OutpostError('E_BUNDLE_TAR', String(err), { cause: err }));
      }
    });
  }

  /** Raw entry content (a piece inside the entry's data, never crossing its end). */
  #onData(c: Current, chunk: Buffer): void {
    c.received += chunk.length;
    if (c.cutter) {
      for (let off = 0; off < chunk.length; ) {
        const { used, block } = c.cutter.push(chunk, off);
        off += used;
        if (block) this.#events.push({ kind: 'block', block });
      }
      if (c.cutter.done) this.#pendingEnd = c.cutter.entry;
      return;
    }
    if (this.#headBuf) {
      // an index entry: its bytes are already in the head buffer (retained before this is called)
      if (c.received === c.layout.size) this.#onHeadEntry(c.layout, this.#headBuf.subarray(c.layout.dataOffset, c.layout.dataOffset + c.layout.size));
      return;
    }
    c.collect!.push(Buffer.from(chunk)); // copy: the source may reuse its buffers
    if (c.received === c.layout.size) this.#onHeadEntry(c.layout, Buffer.concat(c.collect!));
  }

  #onHeadEntry(layout: EntryLayout, bytes: Buffer): void {
    if (layout.kind === 'manifest') {
      this.#manifestBytes = bytes;
    } else if (layout.kind === 'signatures') {
      const { manifest, signers } = this.#checkHead(this.#manifestBytes!, bytes);
      const bl = bundleLayout(manifest, this.#manifestBytes!.length);
      if (bl.headSize > MAX_HEAD_BYTES) throw new OutpostError('E_BUNDLE_HEAD_SIZE', `bundle head would be ${bl.headSize} bytes; the limit is ${MAX_HEAD_BYTES}`);
      this.#verified = { manifest, signers, layout: bl };
      this.#sizeHead(bl.headSize);
    } else if (layout.kind === 'index') {
      const entry = this.#verified!.manifest.payloads.find((p) => p.name === layout.payload)!;
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (digest !== entry.indexSha256) {
        throw new OutpostError('E_BUNDLE_INDEX', `block index of ${entry.name} does not match its signed digest`);
      }
      if (bytes.length !== indexEntrySize(entry)) throw new OutpostError('E_BUNDLE_ENTRY_SIZE', `block index of ${entry.name} has the wrong size`);
      if (entry.groupBlocks === undefined) this.#indexes.set(entry.name, bytes);
      else this.#stored.set(entry.name, new StoredIndex(entry, bytes)); // stored sizes checked here
    }
  }
}
