// The verified streaming reader: turns bytes into verified blocks for a sink. Nothing reaches
// the sink before the head (manifest, signatures, policy, block indexes) has been verified, and a
// block only after its hash matched the signed index (verify-pipeline.ts). The reader runs at
// most a few blocks ahead of the sink, in reused buffers, so memory stays flat and a slow sink
// slows the source.
import { OutpostError } from '../../shared/errors.ts';
import { verifyHeadEntries } from '../../shared/bundle/verify-head.ts';
import { BlockPool } from './block-pool.ts';
import { payloadCutter } from './payload-stream.ts';
import { BundleStreamParser, STEP_BLOCKS, type HeadCheck, type ParseEvent } from './stream-parser.ts';
import { MAX_BLOCKS_IN_FLIGHT, VerifyPipeline } from './verify-pipeline.ts';
import type { BlockSink, VerifiedHead, VerifyPolicy } from './types.ts';

export function policyCheck(policy: VerifyPolicy): HeadCheck {
  return (manifestBytes, signatureBlock) => verifyHeadEntries(policy.trust, policy, manifestBytes, signatureBlock);
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Buffers for the blocks in flight, the one being cut, and the blocks one parser step cuts before
 * the pipeline takes them (at most STEP_BLOCKS: with a pool of 5, 45,000 of a 256 MiB image's
 * 65,536 format-2 blocks were fresh allocations). The pool keeps only what was out at once, so
 * large blocks never fill it.
 */
function blockPool(): BlockPool {
  return new BlockPool(MAX_BLOCKS_IN_FLIGHT + 1 + STEP_BLOCKS);
}

/** Queues one parse event; a promise only when the pipeline is full (most blocks need no await). */
function queue(pipe: VerifyPipeline, head: VerifiedHead, ev: ParseEvent): Promise<void> | undefined {
  if (ev.kind === 'block') return pipe.block(ev.block);
  if (ev.kind === 'begin') pipe.call((sink) => sink.begin(head, ev.payload));
  else pipe.call((sink) => sink.end(ev.payload));
  return undefined;
}

/** Drives a parser over a source. With no pipeline, stops (and closes the source) once the head is verified. */
async function drive(
  source: AsyncIterable<Uint8Array>,
  parser: BundleStreamParser,
  pipe: VerifyPipeline | null,
  signal: AbortSignal | undefined,
): Promise<VerifiedHead> {
  signal?.throwIfAborted();
  try {
    for await (const chunk of source) {
      const buf = asBuffer(chunk);
      for (let off = 0; off < buf.length; ) {
        signal?.throwIfAborted();
        off += parser.step(buf, off);
        const head = parser.head;
        if (!head) continue;
        if (!pipe) return head;
        for (const ev of parser.takeEvents()) {
          const wait = queue(pipe, head, ev);
          if (wait) await wait;
        }
      }
    }
    if (!pipe) {
      throw new OutpostError('E_BUNDLE_TRUNCATED', `bundle ends at byte ${parser.position}, before the first payload`, { retryable: true });
    }
    parser.finish();
    const head = parser.head!;
    for (const ev of parser.takeEvents()) await queue(pipe, head, ev); // the last payload's end (no block here)
    await pipe.flush();
    signal?.throwIfAborted();
    return head;
  } catch (err) {
    throw pipe ? await pipe.stop(err) : err;
  } finally {
    parser.release();
  }
}

/** Whole bundle in one pass (local file, stdin, a fresh download). */
export function readBundle(source: AsyncIterable<Uint8Array>, policy: VerifyPolicy, sink: BlockSink, signal?: AbortSignal): Promise<VerifiedHead> {
  const pool = blockPool();
  return drive(source, new BundleStreamParser(policyCheck(policy), pool), new VerifyPipeline(sink, pool, { signal }), signal);
}

/** Parses and verifies just the head; stops reading at the first payload's data. */
export function readHead(source: AsyncIterable<Uint8Array>, policy: VerifyPolicy, signal?: AbortSignal): Promise<VerifiedHead> {
  return drive(source, new BundleStreamParser(policyCheck(policy)), null, signal);
}

/** Re-verifies head bytes persisted earlier (trust store, floor and policy may have changed since). */
export function verifyHeadBytes(headBytes: Buffer, policy: VerifyPolicy): VerifiedHead {
  return parseHeadBytes(headBytes, policyCheck(policy));
}

export function parseHeadBytes(headBytes: Buffer, check: HeadCheck): VerifiedHead {
  const parser = new BundleStreamParser(check);
  let off = 0;
  while (off < headBytes.length && !parser.head) off += parser.step(headBytes, off);
  if (!parser.head) throw new OutpostError('E_BUNDLE_TRUNCATED', `head bytes end at ${headBytes.length}, before the first payload`);
  if (off !== headBytes.length) throw new OutpostError('E_BUNDLE_HEAD', `head bytes run ${headBytes.length - off} bytes past the first payload's data offset`);
  return parser.head;
}

/**
 * Verifies blocks of one payload from a stream positioned at block `fromBlock` (Range resume).
 * Stops after the payload's last block.
 */
export async function readBlocks(
  source: AsyncIterable<Uint8Array>,
  head: VerifiedHead,
  payloadName: string,
  fromBlock: number,
  sink: BlockSink,
  signal?: AbortSignal,
): Promise<void> {
  const p = head.payloads.find((x) => x.entry.name === payloadName);
  if (!p) throw new OutpostError('E_BUNDLE_RANGE', `no payload "${payloadName}" in this bundle`);
  if (!Number.isInteger(fromBlock) || fromBlock < 0 || fromBlock > p.entry.blocks) {
    throw new OutpostError('E_BUNDLE_RANGE', `block ${fromBlock} is outside ${payloadName} (0..${p.entry.blocks})`);
  }
  const pool = blockPool();
  const cutter = payloadCutter(p, pool, fromBlock);
  const pipe = new VerifyPipeline(sink, pool, { signal });
  signal?.throwIfAborted();
  if (cutter.done) return;
  try {
    for await (const chunk of source) {
      const buf = asBuffer(chunk);
      for (let off = 0; off < buf.length && !cutter.done; ) {
        signal?.throwIfAborted();
        const { used, block } = cutter.push(buf, off);
        off += used;
        const wait = block ? pipe.block(block) : undefined;
        if (wait) await wait;
      }
      if (cutter.done) break; // bytes after the payload (padding, later entries) are not ours
    }
    if (!cutter.done) {
      throw new OutpostError('E_BUNDLE_TRUNCATED', `${payloadName}: stream ended ${cutter.remaining} bytes before the payload's end`, { retryable: true });
    }
    await pipe.flush();
    signal?.throwIfAborted();
  } catch (err) {
    throw await pipe.stop(err);
  } finally {
    cutter.release();
  }
}
