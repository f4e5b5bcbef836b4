// Benchmark: a 256 MiB signed bundle served from 127.0.0.1, downloaded through the verifying
// reader into a loop-device slot (fsync included), unthrottled, next to `curl -s URL | sha256sum`
// in the same run. Reports medians and the ratio, plus the agent side's peak RSS.
//
//   node scripts/bench-fetch.ts [--size-mib 256] [--runs 5] [--block-kib 1024]   (root: uses losetup)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFlakyServer } from '../test/support/flaky-http-server.ts';
import { createBundle } from '../shared/bundle/create.ts';
import { generateSigningKey, parsePrivateKey } from '../shared/bundle/keys.ts';
import { storeFromDocument, type TrustDocument } from '../shared/bundle/trust.ts';
import { createVerifier } from '../agent/bundle/verifier.ts';
import { HttpBundleSource } from '../agent/fetch/http-source.ts';
import { HttpTransport } from '../agent/net/http-transport.ts';
import { openSlotDevice } from '../agent/platform/slots/slot-device.ts';
import type { BlockSink } from '../agent/bundle/types.ts';
import type { SlotWriter } from '../agent/platform/types.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    runs: { type: 'string', default: '5' },
    'block-kib': { type: 'string', default: '1024' },
    child: { type: 'string' },
  },
});

const out = (s: string) => process.stdout.write(s + '\n');

/** Child mode: one download into the slot; prints {seconds, maxRssMiB, rssAnonMiB}. */
async function child(argsJson: string): Promise<void> {
  const a = JSON.parse(argsJson) as { url: string; device: string; trust: TrustDocument };
  const verifier = createVerifier({ trust: storeFromDocument(a.trust), releaseFloor: 0, compatible: ['bench'] });
  const slot = openSlotDevice({ name: 'B', slotClass: 'rootfs', path: a.device });
  let writer: SlotWriter | null = null;
  let fsyncSeconds = 0;
  const sink: BlockSink = {
    async begin() {
      writer = await slot.openWriter(0);
    },
    async block(p, i, data) {
      await writer!.write(i * p.blockSize, data);
    },
    async end() {
      const f0 = performance.now();
      await writer!.finish();
      fsyncSeconds = (performance.now() - f0) / 1000;
    },
  };
  const source = new HttpBundleSource(a.url, { transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }) });
  const t0 = performance.now();
  const head = await source.deliver({ sink, resume: null, signal: AbortSignal.timeout(600_000), verifier });
  const seconds = (performance.now() - t0) / 1000;
  const digest = await slot.digest(head.payloads[0]!.entry.size);
  if (digest !== head.payloads[0]!.entry.sha256) throw new Error('slot digest mismatch');
  // VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork+exec (the parent holds
  // the served bundle in memory).
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  out(JSON.stringify({ seconds, fsyncSeconds, maxRssMiB: kib('VmHWM') / 1024, rssAnonMiB: kib('RssAnon') / 1024 }));
}

function runChild(args: object): Promise<{ seconds: number; fsyncSeconds: number; maxRssMiB: number; rssAnonMiB: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [import.meta.filename, '--child', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (b: Buffer) => (s += b));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(s)) : reject(new Error(`child exited ${code}`))));
  });
}

function curlSha(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('sh', ['-c', `curl -s "${url}" | sha256sum`], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`curl exited ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const sizeMiB = Number(values['size-mib']);
  const runs = Number(values.runs);
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-fetch-'));
  let device: string | null = null;
  let server: Awaited<ReturnType<typeof startFlakyServer>> | null = null;
  try {
    const k = generateSigningKey('bench');
    const image = join(dir, 'image.img');
    writeFileSync(image, randomBytes(sizeMiB << 20));
    const bundle = join(dir, 'bundle.tar');
    await createBundle({
      payloads: [{ path: image, name: 'rootfs.img', slotClass: 'rootfs', blockSize: Number(values['block-kib']) << 10 }],
      version: '1.0.0',
      release: 1,
      compatible: ['bench'],
      keys: [parsePrivateKey(JSON.stringify(k.privateJwk))],
      out: bundle,
    });
    rmSync(image);
    const trust: TrustDocument = { format: 1, version: 1, threshold: 1, keys: [{ id: k.id, publicKey: k.publicHex }], revoked: [], signatures: [] };
    const backing = join(dir, 'slot.img');
    const fd = openSync(backing, 'w');
    ftruncateSync(fd, (sizeMiB + 16) << 20);
    closeSync(fd);
    device = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    server = await startFlakyServer({ body: readFileSync(bundle), chunkSize: 256 * 1024 });
    const agent: number[] = [];
    const rss: number[] = [];
    const curl: number[] = [];
    const fsync: number[] = [];
    for (let i = 0; i < runs; i++) {
      curl.push(await curlSha(server.url));
      const r = await runChild({ url: server.url, device, trust });
      agent.push(r.seconds);
      rss.push(r.maxRssMiB);
      fsync.push(r.fsyncSeconds);
      out(`run ${i + 1}: outpost ${r.seconds.toFixed(3)} s (final fsync ${r.fsyncSeconds.toFixed(3)} s; peak RSS ${r.maxRssMiB.toFixed(1)} MiB, RssAnon at end ${r.rssAnonMiB.toFixed(1)} MiB), curl|sha256sum ${curl.at(-1)!.toFixed(3)} s`);
    }
    const a = median(agent);
    const c = median(curl);
    out(`bundle ${sizeMiB} MiB, block ${values['block-kib']} KiB, ${runs} runs, slot ${device}`);
    out(`median outpost (HTTP → verify → loop slot, fsync): ${a.toFixed(3)} s = ${(sizeMiB / a).toFixed(1)} MiB/s; peak RSS ${median(rss).toFixed(1)} MiB`);
    out(`median final fsync of the slot (inside the outpost time): ${median(fsync).toFixed(3)} s`);
    out(`median curl -s | sha256sum: ${c.toFixed(3)} s = ${(sizeMiB / c).toFixed(1)} MiB/s`);
    out(`ratio outpost / curl|sha256sum: ${(a / c).toFixed(2)}`);
  } finally {
    await server?.close();
    if (device) execFileSync('losetup', ['-d', device]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.child) await child(values.child);
else await main();
