// HTTP byte ranges (RFC 9110 §14): the `Range: bytes=` header, `Content-Range`, and the
// `multipart/byteranges` body a server sends for several ranges. One implementation for the
// hub's bundle server and the node's delta fetcher, so both ends agree byte for byte.
import { OutpostError } from '../errors.ts';

/** Inclusive byte range, as HTTP spells it. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** More ranges than this in one request are served whole (200): a server need not honour them all. */
export const MAX_RANGES_PER_REQUEST = 1024;

export type RangeRequestResult = { readonly ranges: readonly ByteRange[] } | 'unsatisfiable' | null;

/**
 * Parses a `Range` header against a representation of `size` bytes. null: serve the whole
 * representation (no header, another unit, a malformed or too long list — RFC 9110 lets a
 * server ignore Range). 'unsatisfiable': answer 416. Otherwise the satisfiable ranges, in the
 * order asked, with overlapping or touching ranges merged (a client gets each byte once).
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequestResult {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES_PER_REQUEST) return null;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return null;
    const [, a, b] = r;
    if (a === '') {
      const n = Number(b);
      if (n > 0 && size > 0) ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(a);
    if (b !== '' && Number(b) < start) return null; // invalid spec: the whole header is ignored
    if (start >= size) continue; // unsatisfiable on its own; others may still be
    ranges.push({ start, end: b === '' ? size - 1 : Math.min(Number(b), size - 1) });
  }
  if (ranges.length === 0) return 'unsatisfiable';
  return { ranges: mergeRanges(ranges) };
}

/** Sorted, with overlapping and adjacent ranges joined. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((x, y) => x.start - y.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/**
 * Joins ranges whose gap is at most `maxGap` bytes: fetching a small gap costs less than the
 * part headers (or the request) a separate range would.
 */
export function coalesceRanges(ranges: readonly ByteRange[], maxGap: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of mergeRanges(ranges)) {
    const last = out[out.length - 1];
    if (last && r.start - last.end - 1 <= maxGap) out[out.length - 1] = { start: last.start, end: r.end };
    else out.push(r);
  }
  return out;
}

export function formatRangeHeader(ranges: readonly ByteRange[]): string {
  return 'bytes=' + ranges.map((r) => `${r.start}-${r.end}`).join(',');
}

export function formatContentRange(r: ByteRange, size: number | null): string {
  return `bytes ${r.start}-${r.end}/${size ?? '*'}`;
}

/** Parses `bytes a-b/size` (size may be `*`); null when malformed. */
export function parseContentRange(value: string | undefined): { range: ByteRange; size: number | null } | null {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!m) return null;
  const range = { start: Number(m[1]), end: Number(m[2]) };
  if (range.end < range.start) return null;
  return { range, size: m[3] === '*' ? null : Number(m[3]) };
}

/** The plan of a multipart/byteranges body: each part's header bytes, then its data, then the close. */
export interface MultipartPlan {
  readonly contentType: string;
  readonly parts: ReadonlyArray<{ readonly header: Buffer; readonly range: ByteRange }>;
  readonly trailer: Buffer;
  /** Exact body length (for Content-Length). */
  readonly length: number;
}

export function multipartPlan(ranges: readonly ByteRange[], size: number, partType: string, boundary: string): MultipartPlan {
  if (!/^[0-9A-Za-z'()+_,./:=?-]{1,70}$/.test(boundary)) throw new OutpostError('E_HTTP_RANGE', `invalid multipart boundary "${boundary}"`);
  const parts = ranges.map((range, i) => ({
    range,
    // The first delimiter has no leading CRLF; every later one does (it ends the previous data).
    header: Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${partType}\r\ncontent-range: ${formatContentRange(range, size)}\r\n\r\n`, 'latin1'),
  }));
  const trailer = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = parts.reduce((n, p) => n + p.header.length + p.range.end - p.range.start + 1, trailer.length);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, trailer, length };
}

/** The boundary of a `multipart/byteranges` Content-Type, or null for any other type. */
export function multipartBoundary(contentType: string | undefined): string | null {
  const m = /^\s*multipart\/byteranges\s*;(.*)$/i.exec(contentType ?? '');
  if (!m) return null;
  const b = /(?:^|;)\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(m[1]!);
  return b ? (b[1] ?? b[2]!) : null;
}
