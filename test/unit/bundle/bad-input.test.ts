// Every way a bundle can be wrong, each rejected with its own stable code, and the sink never
// sees anything it should not: nothing at all for faults before the payload, only the blocks
// before the first bad one otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readBundle } from '../../../agent/bundle/reader.ts';
import type { PayloadEntry } from '../../../shared/bundle/types.ts';
import { main } from '../../../agent/main.ts';
import type { BlockSink, VerifyPolicy } from '../../../agent/bundle/types.ts';
import { generateSigningKey, parsePrivateKey, type SigningKey } from '../../../shared/bundle/keys.ts';
import { storeFromDocument, type TrustStore } from '../../../shared/bundle/trust.ts';
import { isOutpostError } from '../../../shared/errors.ts';
import { devKeys, eachBlock, makeBundle, makeImage, makeTrustDir, testPolicy, trustDocument, TEST_COMPATIBLE, type MadeBundle, type TestKey } from '../../support/bundle-fixtures.ts';
import { assemble, entry, EOF, flipBit, gzip, rawHeader, signatureBlock, type Parts } from './tamper.ts';

const BS = 64 * 1024;
let dir: string;
let made: MadeBundle;
let good: Buffer;
let parts: Parts;
let keys: TestKey[];
let trust: TrustStore; // dev-a, dev-b trusted (1 of 2), dev-c revoked
let trust2of2: TrustStore;

function stranger(id: string): SigningKey {
  const k = generateSigningKey(id);
  return parsePrivateKey(JSON.stringify(k.privateJwk));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-bad-input-'));
  keys = await devKeys(['dev-a', 'dev-b', 'dev-c']);
  const image = await makeImage(join(dir, 'rootfs.img'), 5 * BS + 1000, 11);
  made = await makeBundle({ image, out: join(dir, 'good.bundle'), keys: keys.slice(0, 1), blockSize: BS, release: 10 });
  good = await readFile(made.path);
  const at = (i: number) => made.layout.entries[i]!;
  const cut = (i: number) => good.subarray(at(i).dataOffset, at(i).dataOffset + at(i).size);
  parts = { manifest: cut(0), signatures: cut(1), index: cut(2), payload: cut(3), indexName: at(2).name, payloadName: at(3).name };
  trust = storeFromDocument(trustDocument(keys.slice(0, 2), { revoked: ['dev-c'] }));
  trust2of2 = storeFromDocument(trustDocument(keys.slice(0, 2), { threshold: 2 }));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

class Recorder implements BlockSink {
  begins = 0;
  ends = 0;
  blocks: number[] = [];
  async begin() {
    this.begins++;
  }
  async block(p: PayloadEntry, index: number, data: Buffer) {
    eachBlock(p, index, data, (i) => this.blocks.push(i));
  }
  async end() {
    this.ends++;
  }
}

async function* chunks(b: Buffer, size = 50_000) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const manifestObject = () => JSON.parse(parts.manifest.toString('utf8'));
const signedBy = (m: unknown, signers: SigningKey[] = [keys[0]!.key]): Pick<Parts, 'manifest' | 'signatures'> => {
  const manifest = Buffer.from(typeof m === 'string' ? m : JSON.stringify(m));
  return { manifest, signatures: signatureBlock(manifest, signers) };
};
const offsetOf = (i: number) => made.layout.entries[i]!;

interface Case {
  name: string;
  bytes: () => Buffer;
  code: string;
  policy?: () => VerifyPolicy;
  /** Blocks the sink may have received (all before the fault; a prefix of these). Default: none, and no begin. */
  blocks?: number[];
}

const CASES: Case[] = [
  // single bit flips in each part
  { name: 'bit flip in the manifest', code: 'E_BUNDLE_SIGNATURE', bytes: () => flipBit(good, offsetOf(0).dataOffset + 40, 1) },
  { name: 'bit flip in a signature', code: 'E_BUNDLE_SIGNATURE', bytes: () => flipBit(good, offsetOf(1).dataOffset + 50, 0) }, // hex digit → another hex digit
  { name: 'bit flip in the signatures padding', code: 'E_BUNDLE_SIGNATURE_BLOCK', bytes: () => flipBit(good, offsetOf(1).dataOffset + 4000, 0) },
  { name: 'bit flip in the block index', code: 'E_BUNDLE_INDEX', bytes: () => flipBit(good, offsetOf(2).dataOffset + 70, 3) },
  { name: 'bit flip in payload block 2', code: 'E_BUNDLE_BLOCK_HASH', bytes: () => flipBit(good, offsetOf(3).dataOffset + 2 * BS + 5, 7), blocks: [0, 1] },
  { name: 'bit flip in the last (short) block', code: 'E_BUNDLE_BLOCK_HASH', bytes: () => flipBit(good, offsetOf(3).dataOffset + 5 * BS + 999), blocks: [0, 1, 2, 3, 4] },
  { name: 'bit flip in a tar header (mtime)', code: 'E_BUNDLE_TAR', bytes: () => flipBit(good, offsetOf(2).headerOffset + 140, 0) },
  { name: 'bit flip in the zero padding after the manifest', code: 'E_BUNDLE_PADDING', bytes: () => flipBit(good, offsetOf(0).dataOffset + offsetOf(0).size + 3) },
  { name: 'bit flip in the padding after the payload', code: 'E_BUNDLE_PADDING', bytes: () => flipBit(good, good.length - 1024 - 2), blocks: [0, 1, 2, 3, 4, 5] },
  { name: 'bit flip in the second end-of-archive block', code: 'E_BUNDLE_PADDING', bytes: () => flipBit(good, good.length - 100), blocks: [0, 1, 2, 3, 4, 5] },
  // truncation
  { name: 'empty input', code: 'E_BUNDLE_TRUNCATED', bytes: () => Buffer.alloc(0) },
  { name: 'truncated inside the manifest', code: 'E_BUNDLE_TRUNCATED', bytes: () => good.subarray(0, 700) },
  { name: 'truncated inside the signatures', code: 'E_BUNDLE_TRUNCATED', bytes: () => good.subarray(0, offsetOf(1).dataOffset + 10) },
  { name: 'truncated inside the index', code: 'E_BUNDLE_TRUNCATED', bytes: () => good.subarray(0, offsetOf(2).dataOffset + 33) },
  { name: 'truncated inside the payload', code: 'E_BUNDLE_TRUNCATED', bytes: () => good.subarray(0, offsetOf(3).dataOffset + 3 * BS + 7), blocks: [0, 1, 2] },
  { name: 'truncated before the end-of-archive blocks', code: 'E_BUNDLE_TRUNCATED', bytes: () => good.subarray(0, good.length - 1024), blocks: [0, 1, 2, 3, 4, 5] },
  // structure
  { name: 'trailing data after the end of archive', code: 'E_BUNDLE_TRAILING_DATA', bytes: () => Buffer.concat([good, Buffer.from('x')]), blocks: [0, 1, 2, 3, 4, 5] },
  { name: 'extra entry after the last payload', code: 'E_BUNDLE_ENTRY_EXTRA', bytes: () => assemble(parts, { after: [entry('notes.txt', Buffer.from('hi'))] }), blocks: [0, 1, 2, 3, 4, 5] },
  {
    name: 'unknown entry between signatures and index',
    code: 'E_BUNDLE_ENTRY_UNKNOWN',
    bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('signatures.json', parts.signatures), entry('evil.sh', Buffer.from('#!')), EOF]),
  },
  {
    name: 'payload before its block index (reordered)',
    code: 'E_BUNDLE_ENTRY_ORDER',
    bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('signatures.json', parts.signatures), entry(parts.payloadName, parts.payload), entry(parts.indexName, parts.index), EOF]),
  },
  { name: 'signatures before the manifest (reordered)', code: 'E_BUNDLE_ENTRY_ORDER', bytes: () => Buffer.concat([entry('signatures.json', parts.signatures), entry('manifest.json', parts.manifest), EOF]) },
  { name: 'manifest duplicated', code: 'E_BUNDLE_ENTRY_DUPLICATE', bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('manifest.json', parts.manifest), EOF]) },
  {
    name: 'block index duplicated',
    code: 'E_BUNDLE_ENTRY_DUPLICATE',
    bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('signatures.json', parts.signatures), entry(parts.indexName, parts.index), entry(parts.indexName, parts.index), EOF]),
  },
  { name: 'payload missing (archive ends after the index)', code: 'E_BUNDLE_ENTRY_MISSING', bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('signatures.json', parts.signatures), entry(parts.indexName, parts.index), EOF]) },
  { name: 'symlink entry', code: 'E_BUNDLE_ENTRY_TYPE', bytes: () => Buffer.concat([rawHeader({ name: 'manifest.json', size: 0, type: '2', linkname: '/etc/shadow' }), EOF]) },
  { name: 'hardlink entry', code: 'E_BUNDLE_ENTRY_TYPE', bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), rawHeader({ name: 'signatures.json', size: 0, type: '1', linkname: 'manifest.json' }), EOF]) },
  { name: 'character device entry', code: 'E_BUNDLE_ENTRY_TYPE', bytes: () => Buffer.concat([rawHeader({ name: 'manifest.json', size: 0, type: '3' }), EOF]) },
  { name: 'directory entry', code: 'E_BUNDLE_ENTRY_TYPE', bytes: () => Buffer.concat([rawHeader({ name: 'payload/', size: 0, type: '5' }), EOF]) },
  { name: 'pax extended header', code: 'E_BUNDLE_ENTRY_TYPE', bytes: () => Buffer.concat([entry('x', Buffer.from('30 path=manifest.json\n'), rawHeader({ name: 'PaxHeader/m', size: 22, type: 'x' })), EOF]) },
  { name: '".." in an entry name', code: 'E_BUNDLE_ENTRY_NAME', bytes: () => Buffer.concat([entry('../manifest.json', parts.manifest), EOF]) },
  { name: 'absolute entry name', code: 'E_BUNDLE_ENTRY_NAME', bytes: () => Buffer.concat([entry('/manifest.json', parts.manifest), EOF]) },
  { name: 'header not in canonical form (uid 1000, valid checksum)', code: 'E_BUNDLE_TAR_HEADER', bytes: () => Buffer.concat([entry('manifest.json', parts.manifest, rawHeader({ name: 'manifest.json', size: parts.manifest.length, uid: 1000 })), EOF]) },
  { name: 'gzip-compressed bundle', code: 'E_BUNDLE_TAR', bytes: () => gzip(good) },
  { name: 'signatures entry of the wrong size', code: 'E_BUNDLE_ENTRY_SIZE', bytes: () => Buffer.concat([entry('manifest.json', parts.manifest), entry('signatures.json', parts.signatures.subarray(0, 4095)), EOF]) },
  {
    name: 'payload size disagrees with the signed manifest',
    code: 'E_BUNDLE_ENTRY_SIZE',
    bytes: () => assemble({ ...parts, payload: Buffer.concat([parts.payload, Buffer.from('!')]) }),
  },
  // manifest and signatures
  {
    name: 'oversized manifest (refused from its header, never read)',
    code: 'E_BUNDLE_MANIFEST_SIZE',
    bytes: () => assemble({ ...parts, ...signedBy(JSON.stringify(manifestObject()) + ' '.repeat(70_000)) }),
  },
  { name: 'signed manifest that is not JSON', code: 'E_BUNDLE_MANIFEST', bytes: () => assemble({ ...parts, ...signedBy('{"format":1,') }) },
  { name: 'signed manifest with an unknown key', code: 'E_BUNDLE_MANIFEST', bytes: () => assemble({ ...parts, ...signedBy({ ...manifestObject(), hooks: 'rm -rf /' }) }) },
  {
    name: 'non-canonical signatures JSON (extra whitespace)',
    code: 'E_BUNDLE_SIGNATURE_BLOCK',
    bytes: () => {
      const s = Buffer.from(parts.signatures.toString('utf8').replace('{"signatures":', '{ "signatures":').slice(0, 4096));
      return assemble({ ...parts, signatures: s });
    },
  },
  { name: 'signed by an untrusted key', code: 'E_BUNDLE_KEY_UNKNOWN', bytes: () => assemble({ ...parts, ...signedBy(manifestObject(), [stranger('ci-other')]) }) },
  { name: 'signed by a wrong key under a trusted id', code: 'E_BUNDLE_SIGNATURE', bytes: () => assemble({ ...parts, ...signedBy(manifestObject(), [stranger('dev-a')]) }) },
  { name: 'signed by a revoked key', code: 'E_BUNDLE_KEY_REVOKED', bytes: () => assemble({ ...parts, ...signedBy(manifestObject(), [keys[2]!.key]) }) },
  { name: 'too few signatures for the threshold (1 of 2)', code: 'E_BUNDLE_THRESHOLD', bytes: () => good, policy: () => testPolicy(trust2of2) },
  { name: 'no signatures at all', code: 'E_BUNDLE_THRESHOLD', bytes: () => assemble({ ...parts, ...signedBy(manifestObject(), []) }) },
  { name: 'release below the floor', code: 'E_BUNDLE_ROLLBACK', bytes: () => good, policy: () => testPolicy(trust, { floor: 11 }) },
  { name: 'wrong compatible string', code: 'E_BUNDLE_INCOMPATIBLE', bytes: () => good, policy: () => testPolicy(trust, { compatible: ['other-board'] }) },
  {
    name: 'block index digest mismatch (signed manifest names another index)',
    code: 'E_BUNDLE_INDEX',
    bytes: () => {
      const m = manifestObject();
      m.payloads[0].indexSha256 = createHash('sha256').update('not the index').digest('hex');
      return assemble({ ...parts, ...signedBy(m) });
    },
  },
  {
    name: 'head larger than the limit (8 huge payloads with 64 KiB blocks)',
    code: 'E_BUNDLE_HEAD_SIZE',
    bytes: () => {
      const m = manifestObject();
      const size = 8 * 1024 ** 3 - 1;
      m.payloads = Array.from({ length: 8 }, (_, i) => ({ ...m.payloads[0], name: `p${i}.img`, size, blocks: Math.ceil(size / BS) }));
      return assemble({ ...parts, ...signedBy(m) }, { eof: false });
    },
  },
];

test(`bad-input suite: ${CASES.length} cases, each with its own code`, async (t) => {
  assert.ok(CASES.length >= 25);
  for (const c of CASES) {
    await t.test(c.name, async () => {
      const sink = new Recorder();
      await assert.rejects(
        readBundle(chunks(c.bytes()), (c.policy ?? (() => testPolicy(trust)))(), sink),
        (e) => {
          assert.ok(isOutpostError(e), `not an OutpostError: ${e}`);
          assert.equal(e.code, c.code, e.message);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        },
      );
      const allowed = c.blocks ?? [];
      assert.deepEqual(sink.blocks, allowed.slice(0, sink.blocks.length), `sink got blocks ${sink.blocks}`);
      if (!c.blocks) assert.equal(sink.begins, 0, 'begin before the head was verified');
      assert.equal(sink.ends, 0, 'end() for a rejected bundle');
    });
  }
});

test('the untampered bundle passes the same policy (the suite tests faults, not a broken setup)', async () => {
  const sink = new Recorder();
  await readBundle(chunks(good), testPolicy(trust), sink);
  assert.deepEqual(sink.blocks, [0, 1, 2, 3, 4, 5]);
  assert.equal(sink.ends, 1);
  assert.equal(TEST_COMPATIBLE, made.manifest.compatible[0]);
  // and reassembling the parts reproduces it byte for byte
  assert.ok(assemble(parts).equals(good));
});

test('a wrong whole-payload sha256 (blocks right): a node installs it; `bundle verify` refuses it with E_BUNDLE_DIGEST', async () => {
  // A node checks what the signed index covers (every block); the whole-image sha256 is for
  // external tools and the post-boot check of the slot, which would catch this one.
  const m = manifestObject();
  m.payloads[0].sha256 = createHash('sha256').update('other').digest('hex');
  const bytes = assemble({ ...parts, ...signedBy(m) });
  const sink = new Recorder();
  await readBundle(chunks(bytes), testPolicy(trust), sink);
  assert.deepEqual(sink.blocks, [0, 1, 2, 3, 4, 5]);
  assert.equal(sink.ends, 1);
  const file = join(dir, 'wrong-sha256.bundle');
  await writeFile(file, bytes);
  const trustDir = await makeTrustDir(join(dir, 'trust-digest'), keys.slice(0, 1));
  let err = '';
  const w = new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) });
  const code = await main(['bundle', 'verify', file, '--trust', trustDir.dir, '--compatible', TEST_COMPATIBLE], { out: w, err: w, isTTY: false });
  assert.equal(code, 1);
  assert.match(err, /^E_BUNDLE_DIGEST: /);
});
