// Durable outbox: every report gets the next sequence number and is fsynced to an append-only
// segment BEFORE anyone may send it; it stays until the hub acknowledges it (cumulative ack).
// Lines are `<crc32 hex> <json>`; a torn or corrupt tail is set aside, never trusted.
// Bounded: over the byte/count bound, telemetry is coalesced (see coalesce.ts); update state,
// outcomes and command results are kept beyond it, up to a hard cap of twice the bound. Past the
// hard cap they are shed too, by a rule that keeps the last outcome of every deployment, and the
// outbox reports itself `full` so the node refuses new offers (E_OUTBOX_FULL) until the hub acks.
import { open, readdir, readFile, rename, unlink, mkdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, readJsonOrSetAside, writeFileAtomic, writeJsonAtomic } from '../lib/atomic-file.ts';
import { OutpostError } from '../../shared/errors.ts';
import type { Logger } from '../log/logger.ts';
import { decodeAgentMessage, isReport } from '../../shared/protocol/codec.ts';
import type { Report, ReportBody } from '../../shared/protocol/messages.ts';
import { coalesce, shed } from './coalesce.ts';

export interface OutboxOptions {
  /** Bound on unacknowledged bytes (soft for never-drop reports). */
  maxBytes: number;
  /** Bound on unacknowledged reports (soft for never-drop reports). */
  maxCount: number;
  /** A new segment starts after this many bytes. */
  segmentBytes?: number;
  now?: () => number;
}

interface Entry {
  report: Report;
  line: string;
  gen: number;
}

const SEG = /^seg-(\d{10})\.jsonl$/;
const segName = (gen: number) => `seg-${String(gen).padStart(10, '0')}.jsonl`;

function frameLine(json: string): string {
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Returns the JSON text of a line whose checksum matches, else null. */
function unframe(line: string): string | null {
  const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
  if (!m || crc32(m[2]!).toString(16).padStart(8, '0') !== m[1]) return null;
  return m[2]!;
}

export class Outbox {
  readonly dir: string;
  #opts: Required<OutboxOptions>;
  #log: Logger;
  #entries: Entry[] = [];
  #bytes = 0;
  #acked = 0;
  #lastSeq = 0;
  #gen = 0;
  #fh: FileHandle | null = null;
  #segBytes = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #listeners = new Set<(r: Report) => void>();
  #closed = false;
  /** Compaction trigger: the bounds, raised after a compaction that could not get under them. */
  #compactAt = { count: 0, bytes: 0 };

  private constructor(dir: string, opts: OutboxOptions, log: Logger) {
    this.dir = dir;
    this.#opts = { segmentBytes: 256 * 1024, now: Date.now, ...opts };
    this.#compactAt = { count: opts.maxCount, bytes: opts.maxBytes };
    this.#log = log;
  }

  static async open(dir: string, opts: OutboxOptions, log: Logger): Promise<Outbox> {
    const box = new Outbox(dir, opts, log);
    await box.#load();
    return box;
  }

  get acked(): number {
    return this.#acked;
  }
  get lastSeq(): number {
    return this.#lastSeq;
  }
  get pendingCount(): number {
    return this.#entries.length;
  }
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** The hard cap (twice the bound): a node whose outbox is this full takes on no new deployment. */
  get hardCap(): { count: number; bytes: number } {
    return { count: 2 * this.#opts.maxCount, bytes: 2 * this.#opts.maxBytes };
  }

  /** At the hard cap even after coalescing and shedding: refuse work that adds reports (offers). */
  get full(): boolean {
    const hard = this.hardCap;
    return this.#entries.length >= hard.count || this.#bytes >= hard.bytes;
  }

  /** Unacknowledged reports with seq > `after`, oldest first. */
  pendingAfter(after: number, limit = Infinity): Report[] {
    const out: Report[] = [];
    for (const e of this.#entries) {
      if (e.report.seq > after) out.push(e.report);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Called after a report is durable; the session uses it to send right away. */
  onAppend(listener: (r: Report) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Journals a report; resolves once it is on disk. */
  append(body: ReportBody): Promise<Report> {
    return this.#serial(async () => {
      if (this.#closed) throw new OutpostError('E_OUTBOX_CLOSED', 'outbox is closed');
      const seq = this.#lastSeq + 1;
      const report = { ...body, v: 1, id: `r-${seq}`, seq } as Report;
      const json = JSON.stringify(report);
      const check = decodeAgentMessage(json);
      if (!check.ok) throw new OutpostError('E_OUTBOX_INVALID', `refusing to journal an invalid ${body.type} report: ${check.reason}`);
      await this.#write(frameLine(json));
      this.#lastSeq = seq;
      this.#push({ report, line: json, gen: this.#gen });
      if (this.#entries.length > this.#compactAt.count || this.#bytes > this.#compactAt.bytes) await this.#compact();
      for (const l of this.#listeners) l(report);
      return report;
    });
  }

  /** The hub stored every report up to `upTo`: move the watermark, drop whole segments behind it. */
  ack(upTo: number): Promise<void> {
    return this.#serial(async () => {
      const to = Math.min(upTo, this.#lastSeq);
      if (to <= this.#acked || this.#closed) return;
      await writeJsonAtomic(join(this.dir, 'acked.json'), { acked: to });
      this.#acked = to;
      while (this.#entries.length && this.#entries[0]!.report.seq <= to) this.#bytes -= this.#entries.shift()!.line.length;
      if (this.#entries.length <= this.#opts.maxCount && this.#bytes <= this.#opts.maxBytes) this.#compactAt = { count: this.#opts.maxCount, bytes: this.#opts.maxBytes };
      const live = new Set(this.#entries.map((e) => e.gen));
      for (const name of await readdir(this.dir)) {
        const m = SEG.exec(name);
        if (m && Number(m[1]) < this.#gen && !live.has(Number(m[1]))) await unlink(join(this.dir, name)).catch(() => {});
      }
    });
  }

  /**
   * The hub's watermark from auth.result. Above this outbox's last seq means the hub stored
   * reports this outbox never wrote: the node kept its key but lost its outbox (state restore,
   * reflash). Trusting it unchecked muted the node until its counter caught up, so the counter
   * moves past it and the unsent reports are renumbered after it, durably (a new segment that
   * supersedes the old ones, then the watermark), so the hub does not take them for replays.
   * Returns by how much the hub was ahead (0: an ordinary acknowledgement).
   */
  adoptHubWatermark(ackedSeq: number): Promise<number> {
    if (ackedSeq <= this.#lastSeq) return this.ack(ackedSeq).then(() => 0);
    return this.#serial(async () => {
      if (this.#closed) throw new OutpostError('E_OUTBOX_CLOSED', 'outbox is closed');
      const ahead = ackedSeq - this.#lastSeq;
      const renumbered = this.#entries.map((e, i) => ({ ...e.report, id: `r-${ackedSeq + 1 + i}`, seq: ackedSeq + 1 + i }) as Report);
      await this.#rewrite(renumbered);
      await writeJsonAtomic(join(this.dir, 'acked.json'), { acked: ackedSeq });
      this.#acked = ackedSeq;
      this.#lastSeq = ackedSeq + renumbered.length;
      this.#log.warn('hub watermark is above the last report this node wrote: its outbox was lost or restored; numbering continues after it', {
        ackedSeq, lastSeq: ackedSeq - ahead, renumbered: renumbered.length,
      });
      return ahead;
    });
  }

  async close(): Promise<void> {
    await this.#serial(async () => {
      this.#closed = true;
      await this.#fh?.close();
      this.#fh = null;
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => {});
    return run;
  }

  #push(e: Entry): void {
    this.#entries.push(e);
    this.#bytes += e.line.length;
  }

  async #write(line: string): Promise<void> {
    if (!this.#fh || this.#segBytes >= this.#opts.segmentBytes) await this.#startSegment();
    try {
      await this.#fh!.appendFile(line);
      await this.#fh!.datasync();
    } catch (err) {
      throw new OutpostError('E_OUTBOX_WRITE', `cannot journal report: ${(err as Error).message}`, { cause: err, retryable: true });
    }
    this.#segBytes += Buffer.byteLength(line);
  }

  async #startSegment(): Promise<void> {
    await this.#fh?.close();
    this.#gen += 1;
    this.#fh = await open(join(this.dir, segName(this.#gen)), 'a', 0o600);
    this.#segBytes = 0;
    await fsyncDir(this.dir);
  }

  /** Coalesces telemetry into one new segment that supersedes every older one. */
  async #compact(): Promise<void> {
    const before = this.#entries.length;
    let kept = coalesce(this.#entries.map((e) => e.report));
    const hard = this.hardCap;
    const size = (r: Report) => JSON.stringify(r).length;
    let shedding = false;
    if (kept.length >= hard.count || kept.reduce((n, r) => n + size(r), 0) >= hard.bytes) {
      const before = kept.length;
      kept = shed(kept, this.#opts.maxCount, this.#opts.maxBytes, size);
      shedding = true;
      this.#log.error('outbox at its hard cap: older update states and command results shed (the last outcome of every deployment kept)', { before, after: kept.length });
    }
    await this.#rewrite(kept);
    // Still over (only never-drop reports left): wait for half as much again before rewriting the
    // journal, so a long outage costs O(n log n) rewriting, not a rewrite per report; never past
    // the hard cap (then a quarter of it more, so a full outbox is not rewritten per report).
    const cap = (n: number, soft: number, h: number) => (shedding && n >= h ? Math.ceil(h * 1.25) : Math.min(h, Math.max(soft, Math.ceil(n * 1.5))));
    this.#compactAt = {
      count: cap(this.#entries.length, this.#opts.maxCount, hard.count),
      bytes: cap(this.#bytes, this.#opts.maxBytes, hard.bytes),
    };
    this.#log.warn('outbox over its bound: telemetry coalesced', { before, after: kept.length, bytes: this.#bytes });
  }

  /** Replaces every segment with one holding `kept` (crash-safe: the header supersedes older segments). */
  async #rewrite(kept: readonly Report[]): Promise<void> {
    const through = this.#gen;
    const gen = through + 1;
    const lines = [frameLine(JSON.stringify({ compactedThrough: through })), ...kept.map((r) => frameLine(JSON.stringify(r)))];
    await writeFileAtomic(join(this.dir, segName(gen)), lines.join(''), 0o600);
    await this.#fh?.close();
    this.#fh = await open(join(this.dir, segName(gen)), 'a', 0o600);
    this.#gen = gen;
    this.#segBytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    this.#entries = [];
    this.#bytes = 0;
    for (const r of kept) this.#push({ report: r, line: JSON.stringify(r), gen });
    for (const name of await readdir(this.dir)) {
      const m = SEG.exec(name);
      if (m && Number(m[1]) <= through) await unlink(join(this.dir, name));
    }
    await fsyncDir(this.dir);
  }

  async #load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const acked = await readJsonOrSetAside(join(this.dir, 'acked.json'), (v) => {
      const a = (v as { acked?: unknown }).acked;
      if (typeof a !== 'number' || !Number.isSafeInteger(a) || a < 0) throw new Error('bad acked watermark');
      return a;
    }, this.#opts.now);
    if (acked.kind === 'corrupt') this.#log.error('outbox watermark corrupt, set aside; replaying everything', { file: acked.setAsideTo });
    this.#acked = acked.kind === 'ok' ? acked.value : 0;
    this.#lastSeq = this.#acked;
    const gens = (await readdir(this.dir)).flatMap((n) => (SEG.exec(n) ? [Number(SEG.exec(n)![1])] : [])).sort((a, b) => a - b);
    let all: Entry[] = [];
    let prevSeq = 0; // strictly increasing across segments, independent of the watermark
    for (const gen of gens) {
      const file = join(this.dir, segName(gen));
      const text = await readFile(file, 'utf8');
      const lines = text.split('\n');
      const good: string[] = [];
      let corrupt = false;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line === '' && i === lines.length - 1) break;
        const json = unframe(line);
        const rec = json === null ? null : this.#record(json);
        if (rec === null) {
          corrupt = true;
          break;
        }
        if ('compactedThrough' in rec) {
          // A compacted segment supersedes older ones (left behind only by a crash mid-compaction).
          all = all.filter((e) => e.gen > rec.compactedThrough);
          prevSeq = all.length ? all[all.length - 1]!.report.seq : 0;
          for (const old of gens) if (old <= rec.compactedThrough) await unlink(join(this.dir, segName(old))).catch(() => {});
        } else {
          if (rec.seq <= prevSeq) {
            corrupt = true;
            break;
          }
          prevSeq = rec.seq;
          all.push({ report: rec, line: json!, gen });
        }
        good.push(line + '\n');
      }
      if (corrupt) {
        const aside = `${file}.corrupt-${this.#opts.now()}`;
        await rename(file, aside);
        await writeFileAtomic(file, good.join(''), 0o600);
        this.#log.error('outbox segment has a corrupt tail; kept the valid prefix, set the file aside', { file: aside, kept: good.length });
      }
      this.#gen = gen;
    }
    this.#lastSeq = Math.max(this.#acked, prevSeq);
    for (const e of all) if (e.report.seq > this.#acked) this.#push(e);
  }

  /** One journal line: a report, or a compaction header. */
  #record(json: string): Report | { compactedThrough: number } | null {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      return null;
    }
    const ct = (raw as { compactedThrough?: unknown }).compactedThrough;
    if (typeof ct === 'number' && Number.isSafeInteger(ct)) return { compactedThrough: ct };
    const d = decodeAgentMessage(json);
    return d.ok && isReport(d.message) ? d.message : null;
  }
}
