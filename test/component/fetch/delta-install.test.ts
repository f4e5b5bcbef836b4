// `outpost install` with format-2 bundles through the shipped CLI into file slots: a delta from
// a loopback server (the reference hub's bundle handler), a SIGKILL mid-delta and --resume, an
// offline install from a file, and bad format-2 bundles that never make the target bootable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { TestNode, type BundleKit } from '../../support/test-node.ts';
import { makeBundle, makeKeys, makeTrustDir, TEST_COMPATIBLE, testPolicy, type TestKey } from '../../support/bundle-fixtures.ts';
import { startRangeServer, type RangeServer } from '../../support/range-server.ts';
import { joinV2, splitV2 } from '../../support/v2-resign.ts';
import { StoredIndex } from '../../../shared/bundle/stored-index.ts';
import { createVerifier } from '../../../agent/bundle/verifier.ts';
import { streamOffset } from '../../../agent/bundle/payload-stream.ts';

const BS = 4096;
const SIZE = 24 << 20;
let dir: string;
let server: RangeServer;
let keys: TestKey[];
let kit: BundleKit;
const nodes: TestNode[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-delta-install-'));
  await mkdir(join(dir, 'srv'));
  keys = await makeKeys(join(dir, 'keys'));
  const v1 = randomBytes(SIZE);
  const v2 = Buffer.from(v1);
  for (let i = 5; i < SIZE / BS; i += 37) randomBytes(BS).copy(v2, i * BS); // ~2.7% of the blocks
  await writeFile(join(dir, 'v1.img'), v1);
  await writeFile(join(dir, 'v2.img'), v2);
  await makeBundle({ image: join(dir, 'v2.img'), out: join(dir, 'srv/v2.bundle'), keys, version: '2.0.0', release: 2, format: 2 });
  const img = (path: string, b: Buffer) => ({ path, size: b.length, sha256: createHash('sha256').update(b).digest('hex') });
  kit = {
    bundle: join(dir, 'srv/v2.bundle'),
    old: img(join(dir, 'v1.img'), v1),
    new: img(join(dir, 'v2.img'), v2),
    bundleConfig: async (nodeRoot, configRoot) => {
      await makeTrustDir(join(nodeRoot, 'etc/outpost/trust'), keys);
      const at = (p: string) => (configRoot === '/' ? join(nodeRoot, p) : p);
      return { trustStore: at('/etc/outpost/trust'), floorFile: at('/state/release-floor'), compatible: [TEST_COMPATIBLE] };
    },
  };
  server = await startRangeServer(join(dir, 'srv'));
});

after(async () => {
  await server?.close();
  for (const n of nodes) await n.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function node(fetch: Record<string, unknown> = {}): Promise<TestNode> {
  const n = await TestNode.create({ kit, slotSize: SIZE + (1 << 20) });
  nodes.push(n);
  const config = JSON.parse(await readFile(n.configPath, 'utf8'));
  config.fetch = { retryBaseMs: 10, retryCapMs: 100, ...fetch };
  await writeFile(n.configPath, JSON.stringify(config));
  return n;
}

test('install URL: delta chosen, the slot holds the new image, status reports the bytes', async () => {
  const n = await node();
  server.reset();
  const r = await n.cli(['install', server.url('v2.bundle')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await n.holds('B'), 'new');
  assert.ok(server.bytes() < SIZE * 0.15, `served ${server.bytes()} for a ${SIZE}-byte image`);
  // the scratch tables and the scratch copy of the head are gone; the journal keeps its own copy
  assert.deepEqual((await readdir(join(n.stateDir, 'update'))).filter((f) => f.startsWith('delta-local') || f === 'head.bin'), ['head.bin']);
  const t = (await n.journal())!.transfer!;
  assert.equal(t.mode, 'delta');
  assert.ok(t.localBytes > SIZE * 0.8 && t.fetchedBytes < SIZE * 0.15, JSON.stringify(t));
  const s = await n.cli(['status']);
  assert.match(s.stdout, /transfer: delta, fetched [\d.]+ MB of [\d.]+ MB planned/);
});

test('SIGKILL mid-delta, then --resume: nothing before the durable record is fetched again', async () => {
  const n = await node({ maxBytesPerSecond: 96 << 10 });
  const first = await n.cli(['install', server.url('v2.bundle')], { when: (l) => /written [4-9]0%/.test(l), delayMs: 0 });
  assert.ok(first.killed, `finished before the kill: ${first.stdout}`);
  const j = (await n.journal())!;
  assert.equal(j.state, 'writing');
  const resumeAt = j.progress!.nextBlock;
  assert.ok(resumeAt > 0);
  const head = await createVerifier(testPolicy((await makeTrustDir(join(dir, 'trust-check'), keys)).store)).readHead((async function* () {
    yield await readFile(kit.bundle);
  })());
  const from = streamOffset(head.payloads[0]!, resumeAt);
  server.reset();
  const r = await n.cli(['install', '--resume']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await n.holds('B'), 'new');
  for (const req of server.requests()) {
    for (const m of req.matchAll(/(\d+)-(\d+)/g)) {
      // The head is fetched again only when the resumed source re-plans; it is verified from the journal here.
      assert.ok(Number(m[1]) >= from, `range ${m[0]} lies before the resume point ${from}`);
    }
  }
});

test('offline install from a format-2 bundle file', async () => {
  const n = await node();
  const r = await n.cli(['install', kit.bundle]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await n.holds('B'), 'new');
});

/** A bad format-2 bundle, correctly signed; installing it from a file fails with `code`. */
async function refused(name: string, mutate: (p: ReturnType<typeof splitV2>, idx: StoredIndex) => void, code: string): Promise<void> {
  const parts = splitV2(await readFile(kit.bundle));
  mutate(parts, new StoredIndex(parts.manifest.payloads[0]!, parts.index));
  const path = join(dir, `${name}.bundle`);
  await writeFile(path, joinV2(parts, keys.map((k) => k.key)));
  const n = await node();
  const r = await n.cli(['install', path]);
  assert.notEqual(r.code, 0);
  const j = (await n.journal())!;
  assert.equal(j.state, 'failed');
  assert.equal(j.error?.code, code, r.stderr);
  await n.assertBootable(name);
  assert.notEqual(await n.holds('B'), 'new');
}

test('bad format-2 inputs: each its own code, the target never bootable', async () => {
  await refused('table', (p, idx) => (p.payload[idx.group(40).tableOffset] ^= 1), 'E_BUNDLE_INDEX');
  await refused('sizes', (p, idx) => p.index.writeUInt16BE(BS, idx.groups * 32 + 7 * 2), 'E_BUNDLE_STORED_SIZE');
  await refused('bomb', (p, idx) => {
    const i = 100;
    const at = idx.block(i);
    const bomb = zstdCompressSync(Buffer.alloc(8 << 20));
    p.payload = Buffer.concat([p.payload.subarray(0, at.offset), bomb, p.payload.subarray(at.offset + at.length)]);
    p.index.writeUInt16BE(bomb.length - 1, idx.groups * 32 + i * 2);
  }, 'E_BUNDLE_BOMB');
});
