// Delta download of a format-2 bundle: the signed head first (by Range), then, window by window,
// each group is taken from a local slot when its digest matches, else its table is fetched and
// each block is taken locally when its digest matches, else fetched — several ranges per
// request where the server allows, one range per request where it does not. Every block, local
// or fetched, is checked against the signed index before it reaches the sink, in block order, so
// the update machine's checkpoints and resume work exactly as for a full download. When the
// bundle is format 1, the server ignores ranges, or the plan saves too little, the full download
// runs instead.
import type { BundleSource, DeliverOptions, TransferReport } from '../../bundle/source.ts';
import type { VerifiedHead, VerifiedPayload } from '../../bundle/types.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';
import { fullJitterDelay } from '../../lib/backoff.ts';
import { silentLogger, type Logger } from '../../log/logger.ts';
import { DEFAULT_RETRY, type HttpSourceOptions, type RetryPolicy } from '../http-source.ts';
import { realSleep } from '../sleep.ts';
import { checkStoredBlock } from '../../bundle/stored-block-cutter.ts';
import { BlockDecoder } from '../../../shared/bundle/block-decoder.ts';
import { RUN_BYTES } from '../../bundle/verify-pipeline.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import type { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { groupDigestOf } from '../../../shared/bundle/stored-index.ts';
import type { ByteRange } from '../../../shared/http/byte-ranges.ts';
import { getRanges, sliceFrom, type Piece } from './range-get.ts';
import { LocalIndex, localLength } from './local-index.ts';
import { blockRanges, estimate, planBlocks, planWindow, tableRanges } from './plan.ts';
import { hash } from 'node:crypto';
import { parseManifest } from '../../../shared/bundle/manifest.ts';
import { bundleLayout } from '../../../shared/bundle/layout.ts';

export interface DeltaOptions extends HttpSourceOptions {
  /** Raw bytes planned and held per window (default 8 MiB). */
  readonly windowBytes?: number;
  /** Ranges per request (default 200: keeps the Range header near 4 KiB). */
  readonly maxRanges?: number;
  /** Delta only when it is expected to fetch less than this share of a full download (default 0.9). */
  readonly maxShare?: number;
  /** First request for the head (default 64 KiB; the rest follows if the head is larger). */
  readonly headProbeBytes?: number;
}

interface Stats {
  fetched: number;
  local: number;
  requests: number;
}

export class DeltaBundleSource implements BundleSource {
  readonly origin: string;
  readonly #full: BundleSource;
  readonly #url: URL;
  readonly #o: DeltaOptions;
  readonly #retry: RetryPolicy;
  readonly #log: Logger;
  #multi = true;

  constructor(url: string, full: BundleSource, o: DeltaOptions) {
    this.#url = new URL(url);
    this.origin = full.origin;
    this.#full = full;
    this.#o = o;
    this.#retry = { ...DEFAULT_RETRY, ...o.retry };
    this.#log = (o.logger ?? silentLogger()).child('delta', { url: this.origin });
  }

  async deliver(o: DeliverOptions): Promise<VerifiedHead> {
    if (!o.local || o.local.length === 0) return this.#fullDeliver(o, null);
    const stats: Stats = { fetched: 0, local: 0, requests: 0 };
    let head: VerifiedHead;
    let validator: string | null;
    if (o.resume) {
      head = o.verifier.verifyHeadBytes(o.resume.headBytes);
      validator = o.resume.validator;
    } else {
      const h = await this.#fetchHead(o, stats);
      if (!h) return this.#fullDeliver(o, null);
      ({ head, validator } = h);
    }
    // Nothing to plan from here on: the full download goes on after the head it already has.
    const full = o.resume ? o : { ...o, known: { head, validator } };
    const p = head.payloads[0]!;
    if (head.payloads.length !== 1 || !p.stored) return this.#fullDeliver(full, null);
    const from = o.resume?.nextBlock ?? 0;
    const files = await Promise.all(o.local.map(async (s) => ({ path: s.path, length: Math.min(await localLength(s.path, () => s.size()), p.entry.size) })));
    let local: LocalIndex | null = await LocalIndex.scan(files, p.entry.blockSize, p.stored.groupBlocks, o.signal);
    let est: ReturnType<typeof estimate>;
    try {
      est = estimate(p.stored, from, local);
    } catch (err) {
      await local.close();
      throw err;
    }
    const report = (mode: 'full' | 'delta'): TransferReport => ({
      mode, fullBytes: est.fullBytes, plannedBytes: mode === 'full' ? est.fullBytes : est.deltaBytes,
      fetchedBytes: stats.fetched, localBytes: stats.local, requests: stats.requests,
    });
    if (est.deltaBytes >= (this.#o.maxShare ?? 0.9) * est.fullBytes) {
      // Let go of the index first: a full download does not need it, and it is the largest thing held.
      await local.close();
      local = null;
      this.#log.info('delta would not save enough; downloading in full', { fullBytes: est.fullBytes, deltaBytes: est.deltaBytes });
      return this.#fullDeliver(full, report('full'));
    }
    try {
      this.#log.info('delta planned', { fullBytes: est.fullBytes, deltaBytes: est.deltaBytes, localCandidateBytes: est.localBytes, scanned: local.scanned });
      o.onTransfer?.(report('delta'));
      if (!o.resume) {
        o.onValidator?.(validator);
        await o.sink.begin(head, p.entry);
      }
      await this.#run(o, p, local, from, validator, stats, () => o.onTransfer?.(report('delta')));
      o.onTransfer?.(report('delta'));
      this.#log.info('delta done', { fetchedBytes: stats.fetched, localBytes: stats.local, requests: stats.requests, fullBytes: est.fullBytes });
      return head;
    } finally {
      await local.close();
    }
  }

  #fullDeliver(o: DeliverOptions, report: TransferReport | null): Promise<VerifiedHead> {
    if (report) o.onTransfer?.(report);
    return this.#full.deliver(o);
  }

  /** The verified head over Range requests; null when the server ignores Range (then a full GET does it all). */
  async #fetchHead(o: DeliverOptions, stats: Stats): Promise<{ head: VerifiedHead; validator: string | null } | null> {
    const probe = this.#o.headProbeBytes ?? 64 * 1024;
    const parts: Buffer[] = [];
    let validator: string | null = null;
    const get = async (r: ByteRange): Promise<boolean> => {
      const res = await this.#withRetries(o, () => getRanges(this.#opts(o, validator), [r]));
      stats.requests++;
      if (res.kind === 'ignored') return false;
      validator = res.validator;
      const piece = res.pieces[0]!;
      parts.push(piece.data);
      return true;
    };
    if (!(await get({ start: 0, end: probe - 1 }))) return null;
    let head: VerifiedHead | null = null;
    for (;;) {
      try {
        head = await o.verifier.readHead((async function* () { yield* parts; })(), o.signal);
        break;
      } catch (err) {
        if (!isOutpostError(err, 'E_BUNDLE_TRUNCATED') || parts.length > 1) throw err;
        // The head is longer than the probe: the manifest (in the probe) says how long.
        const have = parts[0]!.length;
        if (have < probe) throw err; // the whole file was shorter than the probe
        const more = this.#headSize(parts[0]!);
        if (more === null || more <= have) throw err;
        if (!(await get({ start: have, end: more - 1 }))) return null;
      }
    }
    stats.fetched = parts.reduce((n, b) => n + b.length, 0);
    return { head, validator };
  }

  /** Head size from the first bytes: parse just enough (manifest) to compute the layout. */
  #headSize(first: Buffer): number | null {
    const size = Number.parseInt(first.subarray(124, 135).toString('ascii'), 8);
    if (!Number.isSafeInteger(size) || 512 + size > first.length) return null;
    try {
      // Unverified here, used only to size the next request; readHead verifies everything.
      return bundleLayout(parseManifest(first.subarray(512, 512 + size)), size).headSize;
    } catch {
      return null;
    }
  }

  #opts(o: DeliverOptions, validator: string | null) {
    return {
      transport: this.#o.transport, url: this.#url, validator, signal: o.signal, deadlineMs: this.#o.readDeadlineMs ?? 30_000,
      throttle: this.#o.throttle, onBytes: this.#o.onBytes,
    };
  }

  async #run(o: DeliverOptions, p: VerifiedPayload, local: LocalIndex, from: number, validator: string | null, stats: Stats, progress: () => void): Promise<void> {
    const index = p.stored!;
    const bs = index.entry.blockSize;
    const windowBytes = this.#o.windowBytes ?? 8 << 20;
    // One buffer for every window's blocks, each verified block put at its place in it: reading
    // each local group into a fresh buffer left 8 MiB of garbage per window behind.
    const win = Buffer.allocUnsafeSlow(Math.max(windowBytes, bs * index.groupBlocks));
    const decoder = new BlockDecoder(bs); // one zstd context for every fetched block
    let g = Math.floor(from / index.groupBlocks);
    let next = from;
    const a = { failures: 0, lastProgressAt: this.#now(), corrupt: 0 };
    try {
      while (g < index.groups) {
        o.signal.throwIfAborted();
        const plan = planWindow(index, g, windowBytes, local);
        try {
          await this.#window(o, p, local, plan, validator, stats, win, decoder);
          const first = index.group(plan[0]!.g).firstBlock;
          const last = index.group(plan[plan.length - 1]!.g);
          const end = last.firstBlock + last.blockCount;
          // in runs of up to 1 MiB, in order, from the first block not yet handed on
          const per = Math.max(1, Math.floor(RUN_BYTES / bs));
          for (let i = Math.max(first, next); i < end; ) {
            o.signal.throwIfAborted();
            const n = Math.min(per, end - i);
            const at = (i - first) * bs;
            await o.sink.block(p.entry, i, win.subarray(at, Math.min(at + n * bs, index.entry.size - first * bs)));
            i += n;
            next = i;
          }
          g = plan[plan.length - 1]!.g + 1;
          a.failures = 0;
          a.corrupt = 0;
          a.lastProgressAt = this.#now();
          progress();
        } catch (err) {
          if (o.signal.aborted) throw o.signal.reason;
          await (this.#o.sleep ?? realSleep)(this.#retryDelay(err, a, g), o.signal);
        }
      }
    } finally {
      decoder.close();
    }
  }

  /** One window: every block of the planned groups, checked, put at its place in `win` (which it fills from its first block). */
  async #window(
    o: DeliverOptions, p: VerifiedPayload, local: LocalIndex, plan: ReturnType<typeof planWindow>, validator: string | null, stats: Stats, win: Buffer,
    decoder: BlockDecoder,
  ): Promise<void> {
    const index = p.stored!;
    const bs = index.entry.blockSize;
    const first = index.group(plan[0]!.g).firstBlock;
    const at = (i: number) => (i - first) * bs;
    const needTable: number[] = [];
    const table = Buffer.allocUnsafe(index.groupBlocks * DIGEST_BYTES);
    for (const x of plan) {
      const e = index.group(x.g);
      if (x.local) {
        const want = e.blockCount * bs;
        const data = await local.read(x.local, want, win.subarray(at(e.firstBlock), at(e.firstBlock) + want));
        for (let k = 0; k < e.blockCount && data.length === want; k++) table.write(hash('sha256', data.subarray(k * bs, (k + 1) * bs), 'binary'), k * DIGEST_BYTES, 'latin1');
        if (data.length === want && groupDigestOf(table.subarray(0, e.blockCount * DIGEST_BYTES)).equals(index.groupDigest(x.g))) {
          stats.local += want;
          continue;
        }
        this.#log.warn('local group failed its check; fetching its table', { group: x.g });
      }
      needTable.push(x.g);
    }
    const tables = await this.#getAll(o, tableRanges(index, p.dataOffset, needTable), validator, stats);
    const fetch: Array<{ i: number; digest: Buffer }> = [];
    for (const g of needTable) {
      const e = index.group(g);
      const groupTable = Buffer.from(sliceFrom(tables, p.dataOffset + e.tableOffset, e.tableLength));
      index.checkTable(g, groupTable);
      for (const b of planBlocks(index, g, groupTable, local)) {
        const digest = groupTable.subarray((b.i - e.firstBlock) * DIGEST_BYTES, (b.i - e.firstBlock + 1) * DIGEST_BYTES);
        if (b.local) {
          const data = await local.read(b.local, bs, win.subarray(at(b.i), at(b.i) + bs));
          if (data.length === bs && hash('sha256', data, 'buffer').equals(digest)) {
            stats.local += bs;
            continue;
          }
          this.#log.warn('local block failed its check; fetching it', { block: b.i });
        }
        fetch.push({ i: b.i, digest });
      }
    }
    const pieces = await this.#getAll(o, blockRanges(index, p.dataOffset, fetch.map((f) => f.i)), validator, stats);
    for (const f of fetch) {
      const b = index.block(f.i);
      win.set(checkStoredBlock(index, f.i, Buffer.from(sliceFrom(pieces, p.dataOffset + b.offset, b.length)), f.digest, decoder), at(f.i));
    }
  }

  /** All ranges, in requests of at most maxRanges (one each once the server showed it serves only single ranges). */
  async #getAll(o: DeliverOptions, ranges: ByteRange[], validator: string | null, stats: Stats): Promise<Piece[]> {
    const pieces: Piece[] = [];
    const max = this.#o.maxRanges ?? 200;
    const before = { n: 0 };
    const onBytes = (n: number) => {
      before.n += n;
      this.#o.onBytes?.(n);
    };
    for (let k = 0; k < ranges.length; ) {
      const batch = ranges.slice(k, k + (this.#multi ? max : 1));
      const res = await getRanges({ ...this.#opts(o, validator), onBytes }, batch);
      stats.requests++;
      if (res.kind === 'ignored') {
        if (batch.length === 1) throw new OutpostError('E_FETCH_PROTOCOL', `${this.origin} stopped honouring Range`, { retryable: true });
        this.#log.warn('server does not serve several ranges in one response; one range per request from now on');
        this.#multi = false;
        continue;
      }
      pieces.push(...res.pieces);
      k += batch.length;
    }
    stats.fetched += before.n;
    return pieces;
  }

  async #withRetries<T>(o: DeliverOptions, fn: () => Promise<T>): Promise<T> {
    const a = { failures: 0, lastProgressAt: this.#now(), corrupt: 0 };
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (o.signal.aborted) throw o.signal.reason;
        await (this.#o.sleep ?? realSleep)(this.#retryDelay(err, a, 0), o.signal);
      }
    }
  }

  /** Same policy as a full download: retryable faults back off; too many without progress give up. */
  #retryDelay(err: unknown, a: { failures: number; lastProgressAt: number; corrupt: number }, group: number): number {
    const opts = { baseMs: this.#retry.baseMs, capMs: this.#retry.capMs, random: this.#o.random };
    if (isOutpostError(err, 'E_BUNDLE_BLOCK_HASH')) {
      if (++a.corrupt > (this.#o.maxBlockRetries ?? 3)) {
        throw new OutpostError('E_FETCH_BLOCK_CORRUPT', `group ${group}: a block failed its hash ${a.corrupt} times from ${this.origin}`, { cause: err });
      }
      this.#log.warn('fetched block failed its hash; fetching again', { group, attempt: a.corrupt });
      return fullJitterDelay(a.corrupt - 1, opts);
    }
    if (!isOutpostError(err) || !err.retryable) throw err;
    a.failures++;
    const stuckMs = this.#now() - a.lastProgressAt;
    if (a.failures > this.#retry.maxAttempts || stuckMs > this.#retry.giveUpAfterMs) {
      throw new OutpostError('E_FETCH_RETRIES', `gave up on ${this.origin} after ${a.failures} attempts without progress: ${err.message}`, { retryable: true, cause: err });
    }
    const delay = fullJitterDelay(a.failures - 1, opts);
    this.#log.warn('delta fetch interrupted; retrying', { group, attempt: a.failures, delayMs: delay, error: err });
    return delay;
  }

  #now(): number {
    return (this.#o.now ?? (() => performance.now()))();
  }
}
