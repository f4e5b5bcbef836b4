import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  coalesceRanges, formatRangeHeader, multipartBoundary, multipartPlan, parseContentRange, parseRangeHeader, type ByteRange,
} from '../../../shared/http/byte-ranges.ts';
import { MultipartByterangesParser, type MultipartEvent } from '../../../shared/http/multipart-parser.ts';

test('Range header: single, suffix, open-ended, several (merged), unsatisfiable, ignored', () => {
  assert.deepEqual(parseRangeHeader('bytes=0-9', 100), { ranges: [{ start: 0, end: 9 }] });
  assert.deepEqual(parseRangeHeader('bytes=-10', 100), { ranges: [{ start: 90, end: 99 }] });
  assert.deepEqual(parseRangeHeader('bytes=95-', 100), { ranges: [{ start: 95, end: 99 }] });
  assert.deepEqual(parseRangeHeader('bytes=50-60, 0-9,10-19,55-70', 100), { ranges: [{ start: 0, end: 19 }, { start: 50, end: 70 }] });
  assert.deepEqual(parseRangeHeader('bytes=90-200,300-400', 100), { ranges: [{ start: 90, end: 99 }] });
  assert.equal(parseRangeHeader('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRangeHeader('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRangeHeader(undefined, 100), null);
  assert.equal(parseRangeHeader('items=0-1', 100), null);
  assert.equal(parseRangeHeader('bytes=9-1', 100), null);
  assert.equal(parseRangeHeader('bytes=a-b', 100), null);
  assert.equal(parseRangeHeader('bytes=' + Array.from({ length: 1025 }, (_, i) => `${i * 2}-${i * 2}`).join(','), 1e6), null);
});

test('coalescing joins ranges separated by small gaps only', () => {
  const r: ByteRange[] = [{ start: 0, end: 9 }, { start: 15, end: 19 }, { start: 100, end: 109 }];
  assert.deepEqual(coalesceRanges(r, 5), [{ start: 0, end: 19 }, { start: 100, end: 109 }]);
  assert.deepEqual(coalesceRanges(r, 4), r);
  assert.equal(formatRangeHeader(r), 'bytes=0-9,15-19,100-109');
});

test('Content-Range and the multipart boundary parse', () => {
  assert.deepEqual(parseContentRange('bytes 5-9/100'), { range: { start: 5, end: 9 }, size: 100 });
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { range: { start: 5, end: 9 }, size: null });
  assert.equal(parseContentRange('bytes 9-5/100'), null);
  assert.equal(multipartBoundary('multipart/byteranges; boundary=abc123'), 'abc123');
  assert.equal(multipartBoundary('multipart/byteranges; boundary="a b"'), 'a b');
  assert.equal(multipartBoundary('application/octet-stream'), null);
});

function body(data: Buffer, ranges: ByteRange[], boundary: string, preamble = ''): Buffer {
  const plan = multipartPlan(ranges, data.length, 'application/octet-stream', boundary);
  const parts = plan.parts.flatMap((p) => [p.header, data.subarray(p.range.start, p.range.end + 1)]);
  const out = Buffer.concat([Buffer.from(preamble), ...parts, plan.trailer]);
  assert.equal(out.length, plan.length + preamble.length);
  return out;
}

/** Parses `b` fed in chunks cut at `cuts` (sorted offsets) and checks every part's range and bytes. */
function roundTrip(b: Buffer, boundary: string, data: Buffer, ranges: ByteRange[], cuts: number[]): void {
  const p = new MultipartByterangesParser(boundary);
  const got: Array<{ range: ByteRange; data: Buffer }> = [];
  let from = 0;
  for (const to of [...cuts, b.length]) {
    // the chunk is overwritten once pushed, as a socket's read buffer is: events must be used at once
    const chunk = Buffer.from(b.subarray(from, to));
    for (const e of p.push(chunk)) {
      if (e.kind === 'part') got.push({ range: e.range, data: Buffer.alloc(0) });
      else got[got.length - 1]!.data = Buffer.concat([got[got.length - 1]!.data, e.chunk]);
    }
    chunk.fill(0);
    from = to;
  }
  p.end();
  assert.deepEqual(got.map((g) => g.range), ranges);
  for (const g of got) assert.ok(g.data.equals(data.subarray(g.range.start, g.range.end + 1)));
}

test('multipart/byteranges round trip at every chunking', () => {
  const data = randomBytes(5000);
  const ranges = [{ start: 0, end: 0 }, { start: 10, end: 1999 }, { start: 4000, end: 4999 }];
  const b = body(data, ranges, 'XyZ', 'ignored preamble\r\n');
  for (const step of [1, 2, 7, 64, 1000, b.length]) {
    roundTrip(b, 'XyZ', data, ranges, Array.from({ length: Math.ceil(b.length / step) - 1 }, (_, k) => (k + 1) * step));
  }
});

test('multipart/byteranges: a part header cut by a chunk, then a chunk far larger than a header', () => {
  const data = randomBytes(200_000);
  const ranges = [{ start: 0, end: 4095 }, { start: 8192, end: 12287 }, { start: 20_000, end: 90_000 }, { start: 100_000, end: 100_000 }, { start: 150_000, end: 199_999 }];
  const b = body(data, ranges, 'bnd');
  // every cut inside a delimiter or part header, each followed by the rest of the body in one or two chunks
  const sections: number[] = [];
  for (let at = b.indexOf('\r\n--bnd'); at >= 0; at = b.indexOf('\r\n--bnd', at + 1)) sections.push(at);
  sections.push(b.indexOf('--bnd'));
  for (const s of sections) {
    for (const k of [1, 5, 20, 60]) {
      if (s + k >= b.length) continue;
      roundTrip(b, 'bnd', data, ranges, [s + k]);
      roundTrip(b, 'bnd', data, ranges, [s + k, Math.min(b.length - 1, s + k + 9000)]);
    }
  }
});

test('multipart/byteranges: a cut body, a lying part length and a missing Content-Range are errors', () => {
  const data = randomBytes(100);
  const b = body(data, [{ start: 0, end: 9 }, { start: 50, end: 59 }], 'B');
  const cut = new MultipartByterangesParser('B');
  cut.push(b.subarray(0, b.length - 5));
  assert.throws(() => cut.end(), { code: 'E_HTTP_MULTIPART' });
  const lie = Buffer.from(b.toString('latin1').replace('bytes 0-9/100', 'bytes 0-8/100'), 'latin1');
  assert.throws(() => new MultipartByterangesParser('B').push(lie), { code: 'E_HTTP_MULTIPART' });
  const none = Buffer.from(b.toString('latin1').replace(/content-range/g, 'x-range'), 'latin1');
  assert.throws(() => new MultipartByterangesParser('B').push(none), { code: 'E_HTTP_MULTIPART' });
});
