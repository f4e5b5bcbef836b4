// Delta download of a format-2 bundle: the signed head first (by Range, head-by-range.ts), then, window by window,
// each group is taken from a local slot when its digest matches, else its table is fetched and
// each block is taken locally when its digest matches, else fetched — several ranges per
// request where the server allows, one range per request where it does not. Every block, local
// or fetched, is checked against the signed index before it reaches the sink, in block order
// (group-delivery.ts), so the update machine's checkpoints and resume work exactly as for a full
// download. When the bundle is format 1, the server ignores ranges, or the plan saves too little,
// the full download runs instead.
import { writeFile } from 'node:fs/promises';
import type { BundleSource, DeliverOptions, TransferReport } from '../../bundle/source.ts';
import type { VerifiedHead, VerifiedPayload } from '../../bundle/types.ts';
import { isOutpostError, OutpostError } from '../../../shared/errors.ts';
import { fullJitterDelay } from '../../lib/backoff.ts';
import { silentLogger, type Logger } from '../../log/logger.ts';
import { DEFAULT_RETRY, type HttpSourceOptions, type RetryPolicy } from '../http-source.ts';
import { realSleep } from '../sleep.ts';
import { BlockDecoder } from '../../../shared/bundle/block-decoder.ts';
import { DIGEST_BYTES } from '../../../shared/bundle/format.ts';
import type { ByteRange } from '../../../shared/http/byte-ranges.ts';
import { getRanges, type Piece, type Slab } from './range-get.ts';
import { headByRange } from './head-by-range.ts';
import { clearScratch, LocalIndex, localLength, scratchFor, scratchHeadPath, type LocalFile } from './local-index.ts';
import { blockRanges, checkedTable, estimate, fullBytesFrom, planBlocks, planWindow, tableRanges, type GroupPlan } from './plan.ts';
import { deliverWindow, READ_AHEAD, READ_SPAN_BYTES, type Fetched, type Stats, type WindowRun } from './group-delivery.ts';
import { probeLocal } from './local-probe.ts';
import { sampleShare } from './table-sample.ts';
import { monotonicMs } from '../../lib/monotonic.ts';
import { resumedHead } from '../../bundle/resumed-head.ts';

export interface DeltaOptions extends HttpSourceOptions {
  /**
   * Most bytes fetched and held at once (default 8 MiB): the window being handed on and the next
   * one fetch half of it each; a window covers at most 16 times this much of the image.
   */
  readonly windowBytes?: number;
  /** Ranges per request (default 200: keeps the Range header near 4 KiB). */
  readonly maxRanges?: number;
  /** Delta only when it is expected to fetch less than this share of a full download (default 0.9). */
  readonly maxShare?: number;
  /** First request for the head (default 64 KiB; the rest follows if the head is larger). */
  readonly headProbeBytes?: number;
  /** Chance that the sample of the local slots misses savings worth a delta (default 1e-6; local-probe.ts). */
  readonly probeMiss?: number;
}

/** A window once its tables are in: the groups it hands on, what they fetched, and the tables of groups left for the next one. */
interface WindowFetch {
  readonly plan: GroupPlan[];
  readonly fetched: Fetched;
  readonly carry: Fetched['plans'];
}

/** A window's fetch under way. */
interface Ahead {
  readonly g: number;
  readonly fetched: Promise<WindowFetch>;
  readonly stop: AbortController;
  /** Where its fetched blocks land; back to the pool once the window is handed on or dropped. */
  readonly slab: Slab | undefined;
}

/** Ranges per request: the Range header stays near 4 KiB. */
const MAX_RANGES = 200;
const ignore = () => {};

/** A full download after a delta's head tells its progress this often (a delta: once a window). */
const FULL_REPORT_BYTES = 8 << 20;

function transferReport(mode: 'full' | 'delta', fullBytes: number, plannedBytes: number, stats: Stats): TransferReport {
  return { mode, fullBytes, plannedBytes, fetchedBytes: stats.fetched, localBytes: stats.local, requests: stats.requests };
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
    // what a delivery cut short left there: a full download would not write over it
    if (o.scratchDir === undefined) return this.#deliver(o);
    await clearScratch(o.scratchDir);
    try {
      return await this.#deliver(o);
    } finally {
      await clearScratch(o.scratchDir);
    }
  }

  async #deliver(o: DeliverOptions): Promise<VerifiedHead> {
    if (!o.local || o.local.length === 0) return this.#fullDeliver(o, null);
    const stats: Stats = { fetched: 0, local: 0, requests: 0 };
    let head: VerifiedHead;
    let validator: string | null;
    if (o.resume) {
      head = await resumedHead(o.verifier, o.resume);
      validator = o.resume.validator;
    } else {
      const h = await headByRange(o, stats, {
        probeBytes: this.#o.headProbeBytes ?? 64 * 1024, ranged: (validator) => this.#opts(o, validator), retried: (fn) => this.#withRetries(o, fn),
      });
      if (!h) return this.#fullDeliver(o, null);
      ({ head, validator } = h);
    }
    // Nothing to plan from here on: the full download goes on after the head it already has.
    const full = o.resume ? o : { ...o, known: { head, validator } };
    const p = head.payloads[0]!;
    if (head.payloads.length !== 1 || !p.stored) return this.#fullDeliver(full, null);
    if (!o.resume && o.scratchDir !== undefined) await this.#pageEarly(head, o.scratchDir);
    const from = o.resume?.nextBlock ?? 0;
    const files = await Promise.all(o.local.map(async (s) => ({ path: s.path, length: Math.min(await localLength(s.path, () => s.size()), p.entry.size) })));
    const maxShare = this.#o.maxShare ?? 0.9;
    const probe = await probeLocal(files, p.stored, from, o.signal, { random: this.#o.random, miss: this.#o.probeMiss, minSaving: 1 - maxShare });
    // Whole groups are not all a delta takes locally: the blocks of the others are sampled too
    // before a delta is given up, at their own offsets or, after a scan, through its index
    // (table-sample.ts). Taken at most once: null until then.
    let share: number | null = null;
    if (!probe.worth) share = await this.#tableSample(o, p, files, null, from, validator, stats);
    if (share !== null && share < 1 - maxShare) {
      const fullBytes = fullBytesFrom(p.stored, from);
      this.#log.info('local slots hold too little of the image for a delta; downloading in full', { fullBytes, sampledGroups: probe.sampled, zeroGroups: probe.zeros, localGroups: probe.groups, blockShare: share });
      return this.#fullDeliver(full, transferReport('full', fullBytes, fullBytes, stats));
    }
    const scratch = o.scratchDir === undefined ? null : await scratchFor(o.scratchDir, files, p.entry.blockSize, p.stored.groupBlocks);
    let local: LocalIndex | null;
    try {
      local = await LocalIndex.scan(files, p.entry.blockSize, p.stored.groupBlocks, scratch, o.signal);
    } catch (err) {
      if (scratch === null || !isOutpostError(err, 'E_STATE_WRITE')) throw err;
      // the disk filled since it was looked at: the tables go in memory (the scan again costs time, a full download bandwidth)
      this.#log.warn('cannot write the delta\'s tables of the local slots; keeping them in memory', { error: err });
      local = await LocalIndex.scan(files, p.entry.blockSize, p.stored.groupBlocks, null, o.signal);
    }
    let est: ReturnType<typeof estimate>;
    try {
      est = estimate(p.stored, from, local, share ?? 0);
      if (share === null && est.deltaBytes >= maxShare * est.fullBytes) {
        share = await this.#tableSample(o, p, files, local, from, validator, stats);
        est = estimate(p.stored, from, local, share);
      }
    } catch (err) {
      await local.close();
      throw err;
    }
    const report = (mode: 'full' | 'delta') => transferReport(mode, est.fullBytes, mode === 'full' ? est.fullBytes : est.deltaBytes, stats);
    if (est.deltaBytes >= maxShare * est.fullBytes) {
      // Let go of the index first: a full download does not need it, and it is the largest thing held.
      await local.close();
      local = null;
      this.#log.info('delta would not save enough; downloading in full', { fullBytes: est.fullBytes, deltaBytes: est.deltaBytes, blockShare: share });
      return this.#fullDeliver(full, report('full'));
    }
    try {
      this.#log.info('delta planned', { fullBytes: est.fullBytes, deltaBytes: est.deltaBytes, localCandidateBytes: est.localBytes, scanned: local.scanned, blockShare: share });
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

  /**
   * Pages the head's index from a copy in the scratch directory, so that the sample and the scan of
   * the slots do not add their tables to the whole head (4 MiB at 4 GiB, where a format-2 install
   * over HTTP peaked before the journal's copy was written). Every page read is checked against
   * the verified bytes, so the copy needs no fsync; the sink's begin() pages from the journal's
   * copy, and clearScratch() removes this one. A copy that cannot be written leaves the head whole.
   */
  async #pageEarly(head: VerifiedHead, dir: string): Promise<void> {
    const file = scratchHeadPath(dir);
    try {
      await writeFile(file, head.headBytes);
    } catch (err) {
      this.#log.debug('cannot keep a scratch copy of the bundle head; it stays in memory', { error: err });
      return;
    }
    head.pageFrom(file);
  }

  /**
   * The full download. With a report (the head, and maybe a plan, came first), the requests and
   * bytes of the full download are added to it as they come, so the record says what was fetched
   * in all: told at each request, every FULL_REPORT_BYTES, and at the end, failed or not.
   */
  async #fullDeliver(o: DeliverOptions, report: TransferReport | null): Promise<VerifiedHead> {
    if (!report) return this.#full.deliver(o);
    let r = report;
    let told = r;
    o.onTransfer?.(r);
    const onFetched = (bytes: number, requests: number) => {
      r = { ...r, fetchedBytes: r.fetchedBytes + bytes, requests: r.requests + requests };
      if (requests > 0 || r.fetchedBytes - told.fetchedBytes >= FULL_REPORT_BYTES) o.onTransfer?.((told = r));
    };
    try {
      return await this.#full.deliver({ ...o, onFetched });
    } finally {
      if (r !== told) o.onTransfer?.(r);
    }
  }

  /**
   * sampleShare() (table-sample.ts), 0 when the sample cannot be taken (it only ever adds a delta).
   * One attempt, no retries: a link that fails it now fails the full download's first try as well,
   * which retries on its own.
   */
  async #tableSample(o: DeliverOptions, p: VerifiedPayload, files: readonly LocalFile[], scanned: LocalIndex | null, from: number, validator: string | null, stats: Stats): Promise<number> {
    try {
      return await sampleShare(p.stored!, files, {
        dataOffset: p.dataOffset, fromBlock: from, scanned, random: this.#o.random ?? Math.random, signal: o.signal,
        fetch: (ranges) => this.#getAll(o, ranges, validator, stats),
      });
    } catch (err) {
      if (o.signal.aborted) throw o.signal.reason;
      this.#log.warn('cannot sample the tables of the new image; counting whole groups only', { error: err });
      return 0;
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
    const windowBytes = this.#o.windowBytes ?? 8 << 20;
    const limits = { fetchGroups: this.#o.maxRanges ?? MAX_RANGES, rawBytes: 16 * windowBytes };
    const w: WindowRun = {
      o, p, local, validator, stats, next: from,
      // groups are checked as they are handed on, so a window holds only what it fetched (a
      // buffer of the whole window cost 8 MiB); this one assembles a group with no local read
      group: Buffer.allocUnsafeSlow(index.entry.blockSize * index.groupBlocks),
      table: Buffer.allocUnsafe(index.groupBlocks * DIGEST_BYTES),
      decoder: new BlockDecoder(index.entry.blockSize), // one zstd context for every fetched block
      reads: Array.from({ length: READ_AHEAD }, () => Buffer.allocUnsafeSlow(Math.max(READ_SPAN_BYTES, index.entry.blockSize * index.groupBlocks))),
    };
    // The next window's requests go out while this one is delivered (its fetched bytes, half of
    // windowBytes at most, are held one window longer): window by window, the delivery waited on
    // the server at every window. So two slabs of half of windowBytes each hold every fetched
    // block (range-get.ts); pages of a slab are touched only as far as a window fills it.
    const slabs: Slab[] = [0, 1].map(() => ({ buf: Buffer.allocUnsafeSlow(windowBytes / 2), used: 0 }));
    const start = (g: number, carry: Fetched['plans']): Ahead => {
      const stop = new AbortController();
      const slab = slabs.pop();
      if (slab) slab.used = 0;
      const fetched = this.#fetchWindow(w, planWindow(index, g, limits, local), carry, windowBytes / 2, AbortSignal.any([o.signal, stop.signal]), slab);
      fetched.catch(ignore); // awaited when its window comes, or dropped (and stopped) below
      return { g, fetched, stop, slab };
    };
    /** Stops x's requests (unless it is done) and gives its slab back: its pieces are not read again. */
    const drop = async (x: Ahead | null) => {
      x?.stop.abort();
      await x?.fetched.catch(ignore); // no request outlives its window
      if (x?.slab) slabs.push(x.slab);
    };
    const a = { failures: 0, lastProgressAt: this.#now(), corrupt: 0 };
    let ahead: Ahead | null = null;
    let carry: Fetched['plans'] = new Map(); // checked tables stay good whatever happens
    try {
      while (w.next < index.entry.blocks) {
        o.signal.throwIfAborted();
        const g = Math.floor(w.next / index.groupBlocks); // a retry goes on from the first block not handed on
        let cur: Ahead;
        if (ahead?.g === g) cur = ahead;
        else {
          await drop(ahead);
          cur = start(g, carry);
        }
        ahead = null;
        try {
          const win = await cur.fetched;
          carry = win.carry;
          const after = win.plan[win.plan.length - 1]!.g + 1;
          if (after < index.groups) ahead = start(after, carry);
          await deliverWindow(w, win.plan, win.fetched, {
            window: async (g) => (await this.#fetchWindow(w, [{ g, local: null }], new Map(), Infinity)).fetched,
            block: (i) => this.#getAll(o, blockRanges(index, p.dataOffset, [i]), validator, stats),
          }, this.#log);
          a.failures = 0;
          a.corrupt = 0;
          a.lastProgressAt = this.#now();
          progress();
        } catch (err) {
          if (o.signal.aborted) throw o.signal.reason;
          await drop(ahead); // planned again from where this one stopped
          ahead = null;
          await (this.#o.sleep ?? realSleep)(this.#retryDelay(err, a, g), o.signal);
        } finally {
          if (cur.slab) slabs.push(cur.slab); // its fetch has settled, and its pieces are read no more
        }
      }
    } finally {
      await drop(ahead);
      w.decoder.close();
    }
  }

  /**
   * The tables of the plan's groups without a local candidate (checked; those in `carry` are not
   * fetched again), then the stored bytes of their blocks without one — for as many groups as
   * fit `fetchBytes` (at least one): the plan is cut there, and the tables of the groups after
   * the cut carry over to the next window.
   */
  async #fetchWindow(w: WindowRun, plan: readonly GroupPlan[], carry: Fetched['plans'], fetchBytes: number, signal: AbortSignal = w.o.signal, slab?: Slab): Promise<WindowFetch> {
    const { p, local, validator, stats } = w;
    const o = { ...w.o, signal };
    const from = w.next;
    const index = p.stored!;
    const need = plan.filter((x) => !x.local && !carry.has(x.g)).map((x) => x.g);
    const tablePieces = await this.#getAll(o, tableRanges(index, p.dataOffset, need), validator, stats);
    const plans: Fetched['plans'] = new Map();
    for (const x of plan) {
      if (x.local) continue;
      const carried = carry.get(x.g);
      if (carried) {
        plans.set(x.g, carried);
        continue;
      }
      const table = checkedTable(index, p.dataOffset, tablePieces, x.g);
      plans.set(x.g, { table, blocks: planBlocks(index, x.g, table, local) });
    }
    const fetch: number[] = [];
    let bytes = 0;
    let end = 0;
    for (; end < plan.length; end++) {
      const x = plan[end]!;
      if (x.local) continue;
      const { blocks } = plans.get(x.g)!;
      const first = index.group(x.g).firstBlock;
      const had = fetch.length;
      let stored = 0;
      for (let k = 0; k < blocks.length; k++) {
        if (blocks[k]! >= 0 || first + k < from) continue;
        fetch.push(first + k);
        stored += index.storedLength(first + k);
      }
      if (end > 0 && bytes + stored > fetchBytes) {
        fetch.length = had;
        break;
      }
      bytes += stored;
    }
    const next: Fetched['plans'] = new Map();
    for (const x of plan.slice(end)) {
      const t = plans.get(x.g);
      if (!t) continue;
      next.set(x.g, t);
      plans.delete(x.g);
    }
    const pieces = await this.#getAll(o, blockRanges(index, p.dataOffset, fetch), validator, stats, slab);
    return { plan: plan.slice(0, end), fetched: { plans, pieces }, carry: next };
  }

  /** All ranges, in requests of at most maxRanges (one each once the server showed it serves only single ranges). */
  async #getAll(o: DeliverOptions, ranges: ByteRange[], validator: string | null, stats: Stats, slab?: Slab): Promise<Piece[]> {
    const pieces: Piece[] = [];
    const max = this.#o.maxRanges ?? MAX_RANGES;
    const before = { n: 0 };
    const onBytes = (n: number) => {
      before.n += n;
      this.#o.onBytes?.(n);
    };
    for (let k = 0; k < ranges.length; ) {
      const batch = ranges.slice(k, k + (this.#multi ? max : 1));
      const res = await getRanges({ ...this.#opts(o, validator), onBytes }, batch, slab);
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
    return (this.#o.now ?? monotonicMs)();
  }
}
