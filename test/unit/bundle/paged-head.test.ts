// A verified head let go of once it is in a file (VerifiedHead.pageFrom): its format-2 index is
// read back a page at a time, each page checked; nothing changed on disk is used; the head's
// memory is really released while the install goes on; a resume goes on from the file alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate as tick } from 'node:timers/promises';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { fileSource } from '../../../agent/bundle/file-source.ts';
import { readFileChunks } from '../../../agent/bundle/file-chunks.ts';
import { resumedHead } from '../../../agent/bundle/resumed-head.ts';
import type { BlockSink, VerifiedHead } from '../../../agent/bundle/types.ts';
import { IndexPages } from '../../../shared/bundle/index-pages.ts';
import { manifestBytesOf, manifestSha256 } from '../../../shared/bundle/identity.ts';
import { writeFileAtomic } from '../../../agent/lib/atomic-file.ts';
import { bundleLayout } from '../../../shared/bundle/layout.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import type { TrustStore } from '../../../shared/bundle/trust.ts';
import { devKeys, eachBlock, makeBundle, makeTrustDir, testPolicy } from '../../support/bundle-fixtures.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BS = 4096;
let dir: string;
let image: Buffer;
let bundle: string;
let trust: TrustStore;

class Collect implements BlockSink {
  readonly image: Buffer;
  onBegin: (head: VerifiedHead) => void = () => {};
  onEnd: () => Promise<void> = async () => {};
  constructor(size: number) {
    this.image = Buffer.alloc(size);
  }
  async begin(head: VerifiedHead) {
    this.onBegin(head);
  }
  async block(p: PayloadEntry, i: number, data: Buffer) {
    eachBlock(p, i, data, (k, b) => b.copy(this.image, k * BS));
  }
  async end() {
    await this.onEnd();
  }
}

const pageError = (e: unknown) => isOutpostError(e, 'E_BUNDLE_INDEX_PAGE');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-paged-'));
  const k = await devKeys(['dev-a']);
  // one group per block: 34 index bytes a block, so 3,000 blocks make an index of four 32 KiB pages
  image = Buffer.alloc(3000 * BS + 77);
  for (let i = 0; i < 3000; i += 7) randomBytes(BS).copy(image, i * BS);
  await writeFile(join(dir, 'img'), image);
  bundle = join(dir, 'b.bundle');
  await makeBundle({ image: join(dir, 'img'), out: bundle, keys: k, format: 2, blockSize: BS, groupBlocks: 1 });
  trust = (await makeTrustDir(join(dir, 'trust'), k)).store;
});

after(() => rm(dir, { recursive: true, force: true }));

test('index pages read from the file answer as the bytes in memory did; a page changed on disk is refused', async () => {
  const bytes = randomBytes(1000);
  const file = join(dir, 'pages.bin');
  await writeFile(file, Buffer.concat([Buffer.from('seven b'), bytes]));
  const pages = new IndexPages(Buffer.from(bytes), 64);
  pages.pageFrom(file, 7);
  assert.ok(pages.paged);
  const first = pages.view(0, 32);
  // back and forth over 16 pages with 8 kept: pages are read again, into the memory of others
  for (const order of [[0, 1000, 2], [998, -2, -2], [0, 1000, 34]]) {
    for (let off = order[0]!; off >= 0 && off < 1000; off += order[2]!) {
      assert.equal(pages.readUInt16BE(off), bytes.readUInt16BE(off), `at ${off}`);
      if (off % 32 === 0 && off + 32 <= 1000) assert.ok(pages.view(off, 32).equals(bytes.subarray(off, off + 32)));
      if (off % 32 === 0 && off + 32 <= 1000) assert.equal(pages.latin1(off, 32), bytes.toString('latin1', off, off + 32));
    }
  }
  assert.ok(first.equals(bytes.subarray(0, 32)), 'a view taken earlier was overwritten');
  // a page's buffer is reused: bytes past the index, or across a page, are refused, not read
  assert.throws(() => pages.readUInt16BE(999), RangeError);
  assert.throws(() => pages.view(992, 32), RangeError);
  assert.throws(() => pages.view(48, 32), RangeError);
  assert.throws(() => pages.latin1(48, 32), RangeError);
  assert.throws(() => pages.latin1(992, 32), RangeError);
  const changed = Buffer.from(await readFile(file));
  changed[7 + 5 * 64 + 3]! ^= 1;
  await writeFile(file, changed);
  const fresh = new IndexPages(Buffer.from(bytes), 64);
  fresh.pageFrom(file, 7);
  assert.equal(fresh.readUInt16BE(4 * 64), bytes.readUInt16BE(4 * 64)); // the pages around it still read
  assert.throws(() => fresh.readUInt16BE(5 * 64 + 2), pageError);
  assert.throws(() => fresh.view(5 * 64 + 32, 32), pageError);
  assert.throws(() => fresh.latin1(5 * 64, 32), pageError);
  await writeFile(file, changed.subarray(0, 7 + 15 * 64 + 10)); // cut inside the last page
  assert.throws(() => fresh.readUInt16BE(15 * 64), pageError);
  const gone = new IndexPages(Buffer.from(bytes), 64);
  gone.pageFrom(join(dir, 'no-such-file'), 0);
  assert.throws(() => gone.view(0, 32), pageError);
});

/** Where the payload's index sits in the head bytes. */
function indexEntry(head: VerifiedHead): { dataOffset: number; size: number } {
  const l = bundleLayout(head.manifest, manifestBytesOf(head.headBytes).length);
  return l.entries.find((e) => e.kind === 'index')!;
}

test('a head paged from its file during an install: the same index, its memory let go, a changed file refused', async () => {
  const v = createVerifier(testPolicy(trust));
  const reference = (await v.readHead(readFileChunks(bundle))).payloads[0]!.stored!;
  const headFile = join(dir, 'head.bin');
  const sink = new Collect(image.length);
  let released: WeakRef<ArrayBufferLike> | null = null;
  let paged: VerifiedHead | null = null;
  sink.onBegin = (head) => {
    const buffer = head.headBytes.buffer as ArrayBuffer;
    released = new WeakRef(buffer);
    writeFileSync(headFile, head.headBytes);
    head.pageFrom(headFile);
    assert.ok(buffer.detached, 'its memory is given back at once, without waiting for a collection');
    paged = head;
  };
  sink.onEnd = async () => {
    // the parser still runs: neither it nor the head may hold the head's bytes now
    await tick();
    gc();
    assert.equal(released!.deref(), undefined, "the head's bytes are still held");
  };
  const head = await v.readBundle(readFileChunks(bundle), sink);
  assert.ok(Object.is(head, paged), "the head handed to the sink is the one returned");
  assert.ok(sink.image.equals(image));
  assert.equal(head.payloads[0]!.blockHashes.length, 0); // format 2: the stored index has it all
  const s = head.payloads[0]!.stored!;
  assert.ok(s.groups > 2500);
  for (let g = 0; g < s.groups; g++) {
    assert.ok(s.groupDigest(g).equals(reference.groupDigest(g)), `group ${g}`);
    assert.deepEqual(s.group(g), reference.group(g));
    assert.equal(s.storedLength(g), reference.storedLength(g));
  }
  assert.ok((await readFile(headFile)).equals(head.headBytes));

  const fresh = await v.readHead(readFileChunks(bundle));
  const e = indexEntry(fresh);
  const bytes = Buffer.from(fresh.headBytes); // a copy: paging gives the head's own memory back
  assert.equal(fresh.manifestSha256, manifestSha256(manifestBytesOf(bytes)));
  await writeFile(headFile, bytes);
  fresh.pageFrom(headFile);
  // written out a chunk at a time (the journal's copy), read from the file and checked
  const copy = join(dir, 'copy', 'head.bin');
  await writeFileAtomic(copy, fresh.headChunks());
  assert.ok((await readFile(copy)).equals(bytes));
  assert.ok(bytes.length > 64 * 1024, 'more than one chunk');
  const changed = Buffer.from(await readFile(headFile));
  changed[e.dataOffset + e.size - 1]! ^= 1; // the last block's stored size, in the index's last page
  await writeFile(headFile, changed);
  assert.throws(() => fresh.payloads[0]!.stored!.storedLength(s.entry.blocks - 1), pageError);
  assert.throws(() => fresh.headBytes, pageError);
  // a copy from a changed file is refused as it ends: nothing is renamed into place, no temp file is left
  await assert.rejects(writeFileAtomic(join(dir, 'copy', 'bad.bin'), fresh.headChunks()), pageError);
  assert.deepEqual(await readdir(join(dir, 'copy')), ['head.bin']);
});

test('a resume goes on from the head file alone; a head file changed before it is refused', async () => {
  const v = createVerifier(testPolicy(trust));
  const full = await v.readHead(readFileChunks(bundle));
  const headFile = join(dir, 'resume-head.bin');
  await writeFile(headFile, full.headBytes);
  const resume = { headFile, payload: 'rootfs.img', nextBlock: 1234, validator: null };
  const head = await resumedHead(v, resume);
  assert.ok(head.payloads[0]!.stored!.storedLength(2999) > 0);
  const sink = new Collect(image.length);
  await fileSource(bundle).deliver({ sink, resume, signal: new AbortController().signal, verifier: v });
  assert.ok(sink.image.subarray(1234 * BS).equals(image.subarray(1234 * BS)));
  assert.ok(sink.image.subarray(0, 1234 * BS).equals(Buffer.alloc(1234 * BS))); // nothing before the resume point

  const e = indexEntry(full);
  const changed = Buffer.from(full.headBytes);
  changed[e.dataOffset + 40]! ^= 1;
  await writeFile(headFile, changed);
  await assert.rejects(resumedHead(v, resume), (err) => isOutpostError(err, 'E_BUNDLE_INDEX'));
  await assert.rejects(resumedHead(v, { ...resume, headFile: join(dir, 'none') }), (err) => isOutpostError(err, 'E_JOURNAL_STATE'));
});

test('a format-1 head keeps its block hashes (views of its bytes) when it is paged from its file', async () => {
  const k = await devKeys(['dev-a']);
  const img = randomBytes(5 * 65536 + 100);
  await writeFile(join(dir, 'img1'), img);
  const b1 = join(dir, 'b1.bundle');
  await makeBundle({ image: join(dir, 'img1'), out: b1, keys: k, format: 1, blockSize: 65536 });
  const v = createVerifier(testPolicy(trust));
  const head = await v.readHead(readFileChunks(b1));
  const hashes = Buffer.from(head.payloads[0]!.blockHashes);
  const file = join(dir, 'head1.bin');
  await writeFile(file, head.headBytes);
  head.pageFrom(file);
  assert.ok(head.payloads[0]!.blockHashes.equals(hashes));
  const sink = new Collect(img.length);
  const p = head.payloads[0]!;
  await v.readBlocks(readFileChunks(b1, { start: p.dataOffset }), head, p.entry.name, 0, {
    begin: async () => {},
    block: async (_p, i, data) => void data.copy(sink.image, i * 65536),
    end: async () => {},
  });
  assert.ok(sink.image.equals(img));
});
