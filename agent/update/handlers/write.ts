// Streams verified blocks into the target slot. Durability order per checkpoint: slot data
// fsynced first, then the progress record saved, so a record never claims unwritten blocks.
// Checkpoints come every checkpointBytes but at most every checkpointSeconds: each costs an
// fsync of the slot and an atomic journal write, which every few MiB of a fast local install
// took a third of its time.
import { access } from 'node:fs/promises';
import { blocksIn, type BlockSink, type VerifiedHead } from '../../bundle/types.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import type { SlotDevice, SlotWriter } from '../../platform/types.ts';
import type { ResumePoint } from '../../bundle/source.ts';
import type { Handler, HandlerContext } from './context.ts';
import { targetSlot } from './context.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';
import { JournalStore, type TransferRecord } from '../journal.ts';
import { checkTargetNotRunning, markTargetBad } from './install.ts';
import { markWrittenHere } from './written-here.ts';
import { retryStateWrite, STATE_WRITE_RETRY_MS } from '../state-writes.ts';
import { monotonicMs } from '../../lib/monotonic.ts';

const fileExists = (path: string) => access(path).then(() => true, () => false);

export const writing: Handler = async (ctx, signal) => {
  const running = await checkTargetNotRunning(ctx); // a resumed write too: the journal may predate a slot switch
  const source = ctx.source;
  if (!source) throw new OutpostError('E_SOURCE_GONE', `bundle ${ctx.journal.origin} is no longer available to resume from`);
  const j = ctx.journal;
  if (j.bundle && j.progress && j.progress.nextBlock >= j.bundle.payload.blocks) return 'written';
  const resume = await resumePoint(ctx);
  if (resume) ctx.log.info('resuming write', { block: resume.nextBlock });
  try {
    await deliver(ctx, resume, signal, running);
  } catch (err) {
    // a changed bundle, or a head.bin that cannot be read back: the slot is marked bad already
    if (!resume || !(isOutpostError(err, 'E_SOURCE_CHANGED') || isOutpostError(err, 'E_JOURNAL_STATE'))) throw err;
    ctx.log.warn('cannot go on from the interrupted attempt; writing from the start', { error: err });
    await ctx.save({ progress: null, bundle: null });
    await deliver(ctx, null, signal, running);
  }
  markWrittenHere(ctx);
  return 'written';
};

async function resumePoint(ctx: HandlerContext): Promise<ResumePoint | null> {
  const { bundle, progress } = ctx.journal;
  if (!bundle || !progress || progress.nextBlock === 0) return null;
  // the file, not its bytes: the source re-verifies it and pages the index from it (pageFrom)
  const headFile = new JournalStore(ctx.deps.dir).headPath;
  if (!(await fileExists(headFile))) return null;
  return { headFile, payload: bundle.payload.name, nextBlock: progress.nextBlock, validator: progress.validator };
}

async function deliver(ctx: HandlerContext, resume: ResumePoint | null, signal: AbortSignal, running: string): Promise<void> {
  const target = targetSlot(ctx);
  const sink = new SlotSink(ctx, target, resume, signal);
  // A delta may take unchanged blocks from the running slot and, when resuming, from what the
  // target holds (the interrupted attempt); each is checked against the signed index like a
  // fetched one. The target is not scanned on a fresh start: hashing it costs more than it saves.
  const local = [ctx.deps.slots.find((x) => x.name === running), resume ? target : undefined].filter((x): x is SlotDevice => x !== undefined);
  let lastMode: string | null = null;
  // Bytes of earlier attempts of this deployment count too: the record is per deployment.
  const before = ctx.journal.transfer ?? null;
  try {
    await ctx.source!.deliver({
      sink,
      resume,
      signal,
      verifier: ctx.deps.verifier,
      onValidator: (v) => (sink.validator = v),
      local,
      scratchDir: ctx.deps.dir,
      onTransfer: (t) => {
        if (t.mode !== lastMode) ctx.log.info('transfer planned', { ...t });
        lastMode = t.mode;
        const r: TransferRecord = {
          ...t,
          fetchedBytes: t.fetchedBytes + (before?.fetchedBytes ?? 0),
          localBytes: t.localBytes + (before?.localBytes ?? 0),
          requests: t.requests + (before?.requests ?? 0),
        };
        sink.transfer = r;
        ctx.transfer?.(r);
      },
    });
    if (sink.transfer) ctx.log.info('transfer done', { ...sink.transfer, savedBytes: Math.max(0, sink.transfer.fullBytes - sink.transfer.fetchedBytes) });
    await sink.complete();
  } finally {
    await sink.close();
  }
}

class SlotSink implements BlockSink {
  validator: string | null;
  /** Latest transfer record, saved with each checkpoint. */
  transfer: TransferRecord | null = null;
  private readonly ctx: HandlerContext;
  private readonly slot: SlotDevice;
  private writer: SlotWriter | null = null;
  private nextBlock: number;
  private sinceCheckpoint = 0;
  private lastCheckpointAt = monotonicMs();
  private payload: PayloadEntry | null = null;
  private readonly signal: AbortSignal;

  constructor(ctx: HandlerContext, slot: SlotDevice, resume: ResumePoint | null, signal: AbortSignal) {
    this.ctx = ctx;
    this.signal = signal;
    this.slot = slot;
    this.nextBlock = resume?.nextBlock ?? 0;
    this.validator = resume?.validator ?? null;
  }

  async begin(head: VerifiedHead, payload: PayloadEntry): Promise<void> {
    if (head.payloads.length !== 1) {
      throw new OutpostError('E_BUNDLE_PAYLOADS', `bundle has ${head.payloads.length} payloads; one payload per install is supported`);
    }
    if (payload.slotClass !== this.slot.slotClass) {
      throw new OutpostError('E_BUNDLE_SLOT_CLASS', `payload ${payload.name} is for class ${payload.slotClass}, slot ${this.slot.name} is ${this.slot.slotClass}`);
    }
    const cap = await this.slot.size();
    if (payload.size > cap) throw new OutpostError('E_SLOT_CAPACITY', `payload ${payload.size} bytes does not fit slot ${this.slot.name} (${cap})`);
    // Before anything is written or raised: a validly signed bundle is still the wrong one when
    // it is not the bundle the offer named (a swapped file on a cache or mirror).
    checkPin(this.ctx.journal.pin ?? null, head);
    await this.ctx.deps.onVerifiedHead?.(head);
    const known = this.ctx.journal.bundle;
    if (this.nextBlock > 0) {
      if (!known || known.payload.sha256 !== payload.sha256) throw new OutpostError('E_SOURCE_CHANGED', 'resumed bundle differs from the one being written');
    } else {
      // Order matters: bad in the boot env, then the bundle facts; only then blocks. A journal
      // with `bundle` set therefore implies the target is marked bad (abandoning relies on it).
      await markTargetBad(this.ctx);
      const store = new JournalStore(this.ctx.deps.dir);
      await retryStateWrite('the bundle head', () => store.writeHead(head.headChunks()), { log: this.ctx.log, signal: this.signal, delays: this.ctx.deps.stateWriteRetryMs ?? STATE_WRITE_RETRY_MS });
      head.pageFrom(store.headPath); // the index is on disk now: it need not stay in memory for the install
      const { name, size, sha256, blockSize, blocks } = payload;
      const bundle = { version: head.manifest.version, release: head.manifest.release, payload: { name, size, sha256, blockSize, blocks } };
      await this.ctx.save({ bundle, progress: { nextBlock: 0, validator: this.validator } });
      this.ctx.log.info('writing bundle', { version: bundle.version, release: bundle.release, size, blocks, slot: this.slot.name });
    }
    this.payload = payload;
  }

  async block(payload: PayloadEntry, index: number, data: Buffer): Promise<void> {
    this.payload ??= this.resumedPayload(payload);
    if (index !== this.nextBlock) throw new OutpostError('E_BUNDLE_ORDER', `block ${index} arrived, expected ${this.nextBlock}`);
    this.writer ??= await this.slot.openWriter(index * payload.blockSize);
    await this.writer.write(index * payload.blockSize, data);
    this.nextBlock = index + blocksIn(payload, data);
    this.sinceCheckpoint += data.length;
    this.ctx.progress(Math.min(this.nextBlock * payload.blockSize, payload.size), payload.size);
    if (this.sinceCheckpoint >= this.ctx.deps.checkpointBytes && monotonicMs() - this.lastCheckpointAt >= (this.ctx.deps.checkpointSeconds ?? 0) * 1000) {
      await this.checkpoint();
    }
  }

  async end(): Promise<void> {}

  /** After the source finished: every block must be in, then fsync and record. */
  async complete(): Promise<void> {
    const p = this.payload ?? this.resumedPayload(null);
    if (this.nextBlock !== p.blocks) throw new OutpostError('E_BUNDLE_INCOMPLETE', `source ended after ${this.nextBlock} of ${p.blocks} blocks`);
    await this.checkpoint();
  }

  async close(): Promise<void> {
    // Unrecorded blocks are simply written again on resume; no fsync needed here.
    await this.writer?.close();
    this.writer = null;
  }

  private async checkpoint(): Promise<void> {
    await this.writer?.finish(); // data first…
    this.writer = null; // …reopened at the next block on demand
    await this.ctx.save({ progress: { nextBlock: this.nextBlock, validator: this.validator }, ...(this.transfer ? { transfer: this.transfer } : {}) }); // …then the record
    this.sinceCheckpoint = 0;
    this.lastCheckpointAt = monotonicMs();
  }

  private resumedPayload(seen: PayloadEntry | null): PayloadEntry {
    const b = this.ctx.journal.bundle;
    if (!b) throw new OutpostError('E_JOURNAL_STATE', 'blocks arrived before the bundle head');
    if (seen && seen.sha256 !== b.payload.sha256) throw new OutpostError('E_SOURCE_CHANGED', 'resumed bundle differs from the one being written');
    return { ...b.payload, slotClass: this.slot.slotClass, indexSha256: '' };
  }
}

/** E_OFFER_MISMATCH unless the verified head is the pinned bundle (manifest bytes, version, release). */
export function checkPin(pin: { manifestSha256: string; version?: string; release?: string } | null, head: VerifiedHead): void {
  if (!pin) return;
  const got = head.manifestSha256;
  const m = head.manifest;
  const why = got !== pin.manifestSha256 ? `its manifest sha256 is ${got}, the offer named ${pin.manifestSha256}`
    : pin.version !== undefined && pin.version !== m.version ? `it is version ${m.version}, the offer named ${pin.version}`
    : pin.release !== undefined && pin.release !== String(m.release) ? `it is release ${m.release}, the offer named ${pin.release}`
    : null;
  if (why) throw new OutpostError('E_OFFER_MISMATCH', `the bundle served is not the one offered: ${why}`);
}
