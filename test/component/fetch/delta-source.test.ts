// Delta downloads of a format-2 bundle against the reference hub's bundle handler on loopback:
// result identical to a full download, fewer bytes, local blocks re-checked, a server without
// multi-range, a cut link, and a resume that fetches nothing already written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle } from '../../../shared/bundle/create.ts';
import { generateSigningKey, parsePrivateKey } from '../../../shared/bundle/keys.ts';
import { storeFromDocument } from '../../../shared/bundle/trust.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { streamEnd, streamOffset } from '../../../agent/bundle/payload-stream.ts';
import { HttpBundleSource, type HttpSourceOptions } from '../../../agent/fetch/http-source.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { DeltaBundleSource } from '../../../agent/fetch/delta/delta-source.ts';
import type { BundleVerifier, VerifiedHead } from '../../../agent/bundle/types.ts';
import type { LocalSlot, ResumePoint, TransferReport } from '../../../agent/bundle/source.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { FileSlotSink } from './test-bundle.ts';
import { createLogger, type Logger } from '../../../agent/log/logger.ts';
import { PassThrough } from 'node:stream';
import { startRangeServer, type RangeServer } from '../../support/range-server.ts';

const BS = 4096;
const SIZE = 1024 * BS + 1000; // short last block
let dir: string;
let server: RangeServer;
let verifier: BundleVerifier;
let oldImage: Buffer;
let newImage: Buffer;
let newSha: string;
let changedBytes = 0;
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-delta-'));
  oldImage = randomBytes(SIZE);
  newImage = Buffer.from(oldImage);
  for (let k = 0; k < 20; k++) {
    const i = 3 + k * 47;
    randomBytes(BS).copy(newImage, i * BS);
    changedBytes += BS;
  }
  oldImage.copy(newImage, 700 * BS + 0, 100 * BS, 101 * BS); // a block that moved: found at another offset
  changedBytes += BS;
  newSha = createHash('sha256').update(newImage).digest('hex');
  await writeFile(join(dir, 'old.img'), oldImage);
  await writeFile(join(dir, 'new.img'), newImage);
  await mkdir(join(dir, 'srv'));
  mkdirSync(join(dir, 'scratch'));
  const k = generateSigningKey('delta-test');
  const key = parsePrivateKey(JSON.stringify(k.privateJwk));
  // new-g4: groups of 4 blocks, enough of them in these small slots to take a sample of
  for (const [name, format, groupBlocks] of [['new.bundle', 2, undefined], ['new-v1.bundle', 1, undefined], ['new-g4.bundle', 2, 4]] as const) {
    await createBundle({
      payloads: [{ path: join(dir, 'new.img'), name: 'rootfs.img', slotClass: 'rootfs', blockSize: format === 2 ? BS : 65536, groupBlocks }],
      version: '2.0.0', release: 2, compatible: ['test-board'], keys: [key], out: join(dir, 'srv', name), format,
    });
  }
  const trust = storeFromDocument({ format: 1, version: 1, threshold: 1, keys: [{ id: k.id, publicKey: k.publicHex }], revoked: [], signatures: [] });
  verifier = createVerifier({ trust, releaseFloor: 0, compatible: ['test-board'] });
  server = await startRangeServer(join(dir, 'srv'));
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(): HttpSourceOptions {
  return { transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }), retry: { baseMs: 1, capMs: 5, maxAttempts: 5 }, readDeadlineMs: 10_000 };
}

function source(name = 'new.bundle', extra: object = {}): DeltaBundleSource {
  const url = server.url(name);
  // windows that fetch two blocks each (and cover 256 KiB at most): many windows, many cut
  const o = { ...options(), windowBytes: 16 * 1024, ...extra };
  return new DeltaBundleSource(url, new HttpBundleSource(url, o), o);
}

function slot(path: string, onSize?: () => void): LocalSlot {
  return { path, size: async () => (onSize?.(), SIZE) };
}

interface Run {
  digest: string;
  reports: TransferReport[];
  sink: FileSlotSink;
  head: VerifiedHead;
}

/** A fresh booted slot (the old image) and target slot (zeros), unless given. */
async function run(src: DeltaBundleSource, o: { resume?: ResumePoint | null; target?: string; local?: boolean; onTransfer?: (t: TransferReport) => void; sink?: FileSlotSink; signal?: AbortSignal; scratch?: boolean; verifier?: BundleVerifier; onSlotSize?: () => void; old?: string } = {}): Promise<Run> {
  const booted = join(dir, `booted-${n}`);
  const target = o.target ?? join(dir, `target-${n}`);
  n++;
  await copyFile(o.old ?? join(dir, 'old.img'), booted);
  if (!o.target) await writeFile(target, Buffer.alloc(SIZE));
  const sink = o.sink ?? new FileSlotSink(target, o.resume ?? null);
  const reports: TransferReport[] = [];
  let head: VerifiedHead;
  try {
    head = await src.deliver({
      sink, resume: o.resume ?? null, signal: o.signal ?? AbortSignal.timeout(60_000), verifier: o.verifier ?? verifier,
      onValidator: (v) => (sink.validator = v),
      local: o.local === false ? [] : [slot(booted, o.onSlotSize), slot(target, o.onSlotSize)],
      // the local slots' tables on disk (the agent's state directory), or in memory
      ...(o.scratch === false ? {} : { scratchDir: join(dir, 'scratch') }),
      onTransfer: (t) => {
        reports.push(t);
        o.onTransfer?.(t);
      },
    });
  } finally {
    await sink.close();
  }
  return { digest: await sink.digest(SIZE), reports, sink, head };
}

for (const scratch of [true, false]) test(`delta: byte-identical to the new image, a fraction of the bytes, few requests (tables ${scratch ? 'on disk' : 'in memory'})`, async () => {
  server.reset();
  const full = await run(source(), { local: false });
  const fullBytes = server.bytes();
  assert.equal(full.digest, newSha);
  server.reset();
  let seen: string[] = [];
  // the head as verified, and whether its index was paged when the local slots were first looked
  // at (their sizes are asked for just before the sample and the scan)
  let verified: VerifiedHead | null = null;
  let pagedAtLook: boolean | null = null;
  const d = await run(source('new.bundle', { windowBytes: 8 << 20 }), {
    verifier: { ...verifier, readHead: async (...a) => (verified = await verifier.readHead(...a)) },
    onSlotSize: () => void (pagedAtLook ??= verified!.payloads[0]!.stored!.paged),
    scratch,
    onTransfer: () => void (seen = readdirSync(join(dir, 'scratch')).sort()), // the plan is made: the tables are in place
  });
  // and the head the index pages from until the journal has its copy (the sink here keeps none)
  assert.deepEqual(seen, scratch ? ['delta-local-blocks.keys', 'delta-local-blocks.pos', 'delta-local-groups.keys', 'delta-local-groups.pos', 'delta-local-head'] : []);
  assert.deepEqual(readdirSync(join(dir, 'scratch')), [], 'removed when the delivery ends');
  assert.equal(pagedAtLook, scratch, 'the index pages from the scratch copy before the slots are sampled');
  assert.ok(Object.is(d.head, verified));
  const deltaBytes = server.bytes();
  assert.equal(d.digest, newSha);
  const last = d.reports[d.reports.length - 1]!;
  assert.equal(last.mode, 'delta');
  assert.ok(last.localBytes > SIZE * 0.9, `local ${last.localBytes}`);
  assert.ok(deltaBytes < fullBytes * 0.2, `delta ${deltaBytes} of full ${fullBytes}`);
  assert.ok(deltaBytes < changedBytes * 3 + 40_000, `delta ${deltaBytes} for ${changedBytes} changed`);
  assert.ok(server.requests().length <= 6, `requests: ${server.requests().length}`);
});

test('windows cut by what they fetch: no byte of the bundle is requested twice', async () => {
  server.reset();
  const d = await run(source());
  assert.equal(d.digest, newSha);
  const ranges = server.requests().flatMap((r) => [...r.matchAll(/(\d+)-(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const));
  assert.ok(server.requests().length > 6, `several windows: ${server.requests().length} requests`);
  const sorted = ranges.slice(1).sort((a, b) => a[0] - b[0]); // the head's first 64 KiB probe aside
  for (let k = 1; k < sorted.length; k++) assert.ok(sorted[k]![0] > sorted[k - 1]![1], `ranges ${sorted[k - 1]} and ${sorted[k]} overlap`);
});

test("a window's fetched blocks stay whole while the next window's arrive (no byte fetched twice)", async () => {
  // Once a request goes out (the next window's), the sink holds the group it is given until
  // the answers have come in full, so the next window's blocks land while this window's are
  // still being handed on. Blocks overwritten under a window would fail their check and be
  // fetched again: a range asked twice.
  let received = 0;
  let seen = 0;
  const src = source('new.bundle', { onBytes: (bytes: number) => void (received += bytes) });
  const pause = () => new Promise((ok) => setTimeout(ok, 5));
  class HoldingSink extends FileSlotSink {
    override async block(payload: PayloadEntry, index: number, data: Buffer): Promise<void> {
      if (server.requests().length > seen) {
        // until nothing new has come for four polls in a row: the next window's tables are
        // answered, then the request for its blocks goes out and is answered too
        for (let quiet = 0; quiet < 4; ) {
          const asked = server.requests().length;
          const got = received;
          await pause();
          quiet = server.requests().length === asked && received === got ? quiet + 1 : 0;
        }
        seen = server.requests().length;
      }
      return super.block(payload, index, data);
    }
  }
  server.reset();
  const target = join(dir, `target-hold-${n}`);
  await writeFile(target, Buffer.alloc(SIZE));
  const d = await run(src, { target, sink: new HoldingSink(target) });
  assert.equal(d.digest, newSha);
  const ranges = server.requests().slice(1).flatMap((r) => [...r.matchAll(/(\d+)-(\d+)/g)].map((m) => `${m[1]}-${m[2]}`));
  assert.equal(new Set(ranges).size, ranges.length, 'a range was asked twice');
  assert.ok(server.requests().length > 6, `several windows: ${server.requests().length} requests`);
});

test('a server that serves one range per response still works (more requests)', async () => {
  server.set({ multiRange: false });
  try {
    server.reset();
    const d = await run(source());
    assert.equal(d.digest, newSha);
    assert.equal(d.reports[d.reports.length - 1]!.mode, 'delta');
    assert.ok(server.requests().length > 6);
  } finally {
    server.set({ multiRange: true });
  }
});

test('a local block that changed after planning fails its check and is fetched', async () => {
  let corrupted = false;
  const booted = join(dir, `booted-${n}`);
  const d = await run(source(), {
    onTransfer: (t) => {
      if (corrupted || t.mode !== 'delta') return;
      corrupted = true;
      // Synchronously, before any block is read: block 0 (unchanged group) and block 200.
      const fd = openSync(booted, 'r+');
      writeSync(fd, Buffer.alloc(BS, 0xee), 0, BS, 0);
      writeSync(fd, Buffer.alloc(BS, 0xee), 0, BS, 200 * BS);
      closeSync(fd);
    },
  });
  assert.ok(corrupted);
  assert.equal(d.digest, newSha);
});

test('groups and blocks of zeros are written as zeros: nothing read for them, nothing fetched again', async () => {
  // The old image has its only zeros in group 10; the new one has zero groups 30–33 and two zero
  // blocks in an otherwise unchanged group 40 (blocks of 4 KiB, groups of 16).
  const old = Buffer.from(oldImage);
  old.fill(0, 160 * BS, 176 * BS);
  const image = Buffer.from(old);
  image.fill(0, 480 * BS, 544 * BS);
  image.fill(0, 643 * BS, 644 * BS);
  image.fill(0, 645 * BS, 646 * BS);
  const k = generateSigningKey('delta-zeros');
  await writeFile(join(dir, 'old-zeros.img'), old);
  await writeFile(join(dir, 'new-zeros.img'), image);
  await createBundle({
    payloads: [{ path: join(dir, 'new-zeros.img'), name: 'rootfs.img', slotClass: 'rootfs', blockSize: BS }],
    version: '2.0.0', release: 2, compatible: ['test-board'], keys: [parsePrivateKey(JSON.stringify(k.privateJwk))], out: join(dir, 'srv', 'new-zeros.bundle'), format: 2,
  });
  const trust = storeFromDocument({ format: 1, version: 1, threshold: 1, keys: [{ id: k.id, publicKey: k.publicHex }], revoked: [], signatures: [] });
  const warned: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (msg) => void warned.push(msg), child: () => logger };
  let spoiled = false;
  const booted = join(dir, `booted-${n}`);
  const target = join(dir, `target-zeros-${n}`);
  await writeFile(target, randomBytes(SIZE)); // no zeros there either
  server.reset();
  const d = await run(source('new-zeros.bundle', { windowBytes: 8 << 20, logger }), {
    old: join(dir, 'old-zeros.img'),
    target,
    verifier: createVerifier({ trust, releaseFloor: 0, compatible: ['test-board'] }),
    onTransfer: (t) => {
      if (spoiled || t.mode !== 'delta') return;
      spoiled = true;
      // the plan found the zeros in group 10 of the running slot: they are not zeros any more
      const fd = openSync(booted, 'r+');
      writeSync(fd, Buffer.alloc(16 * BS, 0xee), 0, 16 * BS, 160 * BS);
      closeSync(fd);
    },
  });
  assert.ok(spoiled);
  assert.equal(d.digest, createHash('sha256').update(image).digest('hex'));
  assert.deepEqual(warned, [], 'no local group or block failed its check: none was read for the zeros');
  const last = d.reports[d.reports.length - 1]!;
  assert.equal(last.mode, 'delta');
  assert.ok(last.localBytes >= 1024 * BS - 20 * BS, `local ${last.localBytes}`);
});

test('a cut link is retried within the delta; the result is the same', async () => {
  server.set({ cutAfter: 2000 });
  const d = await run(source(), {});
  assert.equal(d.digest, newSha);
});

test('an interrupted delta resumes without fetching the blocks already written', async () => {
  const target = join(dir, 'target-resume');
  await writeFile(target, Buffer.alloc(SIZE));
  const stopAt = 600;
  const ac = new AbortController();
  const sink = new FileSlotSink(target);
  sink.onBlock = (i) => {
    if (i === stopAt - 1) ac.abort(new Error('power cut'));
  };
  await assert.rejects(run(source(), { target, sink, signal: ac.signal }));
  assert.ok(sink.nextBlock >= stopAt);
  const resume = sink.resumePoint();
  server.reset();
  const d = await run(source(), { target, resume });
  assert.equal(d.digest, newSha);
  const head = verifier.verifyHeadBytes(resume.headBytes);
  const from = streamOffset(head.payloads[0]!, resume.nextBlock);
  for (const r of server.requests()) {
    for (const m of r.matchAll(/(\d+)-(\d+)/g)) assert.ok(Number(m[1]) >= from, `range ${m[0]} is before the resume point ${from}`);
  }
});

test('scratch files a delivery cut short left behind are removed by the next one, even a full download', async () => {
  const stale = ['delta-local-blocks.pos', 'delta-local-blocks.runs', 'delta-local-groups.keys'];
  for (const f of [...stale, 'journal.json']) writeFileSync(join(dir, 'scratch', f), 'left by a power cut');
  const r = await run(source('new-v1.bundle'));
  assert.equal(r.digest, newSha);
  assert.deepEqual(readdirSync(join(dir, 'scratch')), ['journal.json'], 'only its own files are removed');
  rmSync(join(dir, 'scratch', 'journal.json'));
});

test('format 1, no local slots, or a plan that saves nothing: full download', async () => {
  server.reset();
  const v1 = await run(source('new-v1.bundle'));
  assert.equal(v1.digest, newSha);
  assert.equal(v1.reports.length, 0); // format 1 goes straight to the full download
  // …after the head it probed: the payload by Range from its first byte, not the bundle again
  const head = verifier.verifyHeadBytes(v1.sink.resumePoint().headBytes);
  const from = streamOffset(head.payloads[0]!, 0);
  assert.deepEqual(server.requests(), ['bytes=0-65535', `bytes=${from}-${streamEnd(head.payloads[0]!) - 1}`]);
  assert.notEqual(v1.sink.validator, null, 'the validator of the probe is recorded');
  assert.equal(v1.sink.begins, 1);
  // A booted slot with unrelated content: nothing to reuse. The slots are scanned (too small to
  // sample) and the plan says so, or a sample of them says so without a scan.
  await writeFile(join(dir, 'old.img'), randomBytes(SIZE));
  try {
    for (const [bundle, probeMiss] of [['new.bundle', undefined], ['new-g4.bundle', 0.05]] as const) {
      const lines: Array<Record<string, unknown>> = [];
      const logger = createLogger({ out: new PassThrough().resume(), tap: (l) => lines.push(l) });
      server.reset();
      const d = await run(source(bundle, { probeMiss, logger }));
      assert.equal(d.digest, newSha);
      assert.equal(d.reports[0]!.mode, 'full');
      // The record counts the full download too, not just the head before it: nothing was saved.
      const last = d.reports.at(-1)!;
      assert.ok(d.reports.every((t, i) => t.mode === 'full' && (i === 0 || t.fetchedBytes >= d.reports[i - 1]!.fetchedBytes)));
      assert.equal(last.requests, server.requests().length);
      const headers = server.bytes() - last.fetchedBytes; // the server counts its headers too
      assert.ok(headers > 0 && headers < 1024 * last.requests, `served ${server.bytes()}, recorded ${last.fetchedBytes}`);
      assert.ok(last.fetchedBytes >= last.fullBytes, `fetched ${last.fetchedBytes} of a full ${last.fullBytes}`);
      const msgs = lines.map((l) => l.msg);
      if (probeMiss === undefined) assert.ok(msgs.includes('delta would not save enough; downloading in full'), msgs.join('; '));
      else {
        const sampled = lines.find((l) => l.msg === 'local slots hold too little of the image for a delta; downloading in full');
        assert.ok(sampled, msgs.join('; '));
        assert.ok(Number(sampled.sampledGroups) > 0 && Number(sampled.sampledGroups) <= Number(sampled.localGroups) / 4, JSON.stringify(sampled));
      }
    }
  } finally {
    await writeFile(join(dir, 'old.img'), oldImage);
  }
  // The same sample over the previous release finds it: a delta.
  const d = await run(source('new-g4.bundle', { probeMiss: 0.05 }));
  assert.equal(d.digest, newSha);
  assert.equal(d.reports[d.reports.length - 1]!.mode, 'delta');
});

test('a change in every group: blocks sampled from the tables, a delta all the same', async () => {
  // One block of every group changed (a change scattered every few blocks): no group is found whole
  // in a slot, so the plan (groups of 16, slots scanned) and the sample of the slots (groups of 4)
  // see nothing; the tables of a sample of groups show the other blocks are all there.
  const k = generateSigningKey('delta-scattered');
  const key = parsePrivateKey(JSON.stringify(k.privateJwk));
  const trust = storeFromDocument({ format: 1, version: 1, threshold: 1, keys: [{ id: k.id, publicKey: k.publicHex }], revoked: [], signatures: [] });
  const v = createVerifier({ trust, releaseFloor: 0, compatible: ['test-board'] });
  for (const [groupBlocks, probeMiss] of [[16, undefined], [4, 0.05]] as const) {
    const image = Buffer.from(oldImage);
    for (let b = 1; b < 1024; b += groupBlocks) randomBytes(BS).copy(image, b * BS);
    const sha = createHash('sha256').update(image).digest('hex');
    const name = `scattered-g${groupBlocks}`;
    await writeFile(join(dir, `${name}.img`), image);
    await createBundle({
      payloads: [{ path: join(dir, `${name}.img`), name: 'rootfs.img', slotClass: 'rootfs', blockSize: BS, groupBlocks }],
      version: '2.0.0', release: 2, compatible: ['test-board'], keys: [key], out: join(dir, 'srv', `${name}.bundle`), format: 2,
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ out: new PassThrough().resume(), tap: (l) => lines.push(l) });
    server.reset();
    const d = await run(source(`${name}.bundle`, { probeMiss, logger, windowBytes: 8 << 20 }), { verifier: v });
    assert.equal(d.digest, sha);
    const last = d.reports.at(-1)!;
    assert.equal(last.mode, 'delta', lines.map((l) => l.msg).join('; '));
    const planned = lines.find((l) => l.msg === 'delta planned')!;
    const expected = 1 - 1 / groupBlocks; // the blocks at their offsets, of the groups sampled
    assert.ok(Math.abs(Number(planned.blockShare) - expected) < 0.01, JSON.stringify(planned));
    assert.ok(last.localBytes >= expected * 1024 * BS && last.fetchedBytes < last.fullBytes * (1.5 / groupBlocks) + 40_000, JSON.stringify(last));
    assert.ok(server.bytes() < last.fullBytes * (1.5 / groupBlocks) + 60_000, `served ${server.bytes()} of ${last.fullBytes}`);
  }
  // The block sample's one request cut: it counts for nothing (no retries of its own), and the
  // full download goes on as before the sample existed.
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ out: new PassThrough().resume(), tap: (l) => lines.push(l) });
  const d = await run(source('scattered-g16.bundle', { logger }), { verifier: v, onSlotSize: () => server.set({ cutAfter: 100 }) });
  assert.equal(d.digest, createHash('sha256').update(readFileSync(join(dir, 'scattered-g16.img'))).digest('hex'));
  assert.equal(d.reports.at(-1)!.mode, 'full');
  const msgs = lines.map((l) => l.msg);
  assert.ok(msgs.includes('cannot sample the tables of the new image; counting whole groups only') && msgs.includes('delta would not save enough; downloading in full'), msgs.join('; '));
});

test('a head longer than the first request comes in a second one, streamed into the parser', async () => {
  server.reset();
  const d = await run(source('new.bundle', { headProbeBytes: 4096 }));
  assert.equal(d.digest, newSha);
  assert.equal(d.reports[d.reports.length - 1]!.mode, 'delta');
  const headBytes = d.sink.resumePoint().headBytes.length;
  assert.ok(headBytes > 4096, `head ${headBytes} bytes`);
  assert.deepEqual(server.requests().slice(0, 2), ['bytes=0-4095', `bytes=4096-${headBytes - 1}`]);
});
