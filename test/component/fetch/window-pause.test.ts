// A real download through the gate with an injected clock: the window closes mid-download (the
// deliver() ends with E_WINDOW_CLOSED, an abort, not a failure), and at the next open it resumes
// from the recorded block with one Range request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFlakyServer } from '../../support/flaky-http-server.ts';
import { makeTestBundle, FileSlotSink } from './test-bundle.ts';
import { VirtualClock } from '../../unit/window/virtual-clock.ts';
import { DownloadGate } from '../../../agent/fetch/download-gate.ts';
import { HttpBundleSource } from '../../../agent/fetch/http-source.ts';
import { HttpTransport } from '../../../agent/net/http-transport.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-window-'));
const BLOCK = 64 * 1024;
const SIZE = 4 * 1024 * 1024;
const b = await makeTestBundle(dir, { size: SIZE, blockSize: BLOCK });
const server = await startFlakyServer({ body: b.bytes });
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const Z = (s: string) => Date.parse(s + 'Z');

test('window closes mid-download → aborted at a block boundary; next open → resumes from there', async () => {
  const clock = new VirtualClock(Z('2026-11-21T21:00'));
  // 23:00–23:30 Berlin (22:00–22:30Z in November).
  const gate = new DownloadGate({ windows: [{ cron: '0 23 * * *', durationMinutes: 30, timezone: 'Europe/Berlin' }], maxBytesPerSecond: null, budget: null, now: clock.now, sleep: clock.sleep });
  const shutdown = AbortSignal.timeout(30_000);
  const src = new HttpBundleSource(server.url, {
    transport: new HttpTransport({ tls: { ca: [] }, proxy: null, noProxy: [] }),
    throttle: gate.throttle,
    onBytes: (n) => gate.charge(n),
  });

  const opening = gate.waitOpen(shutdown);
  await clock.advanceTo(Z('2026-11-21T22:00'));
  await opening;

  const slot = join(dir, 'slot');
  const first = new FileSlotSink(slot);
  let session = gate.session(shutdown);
  first.onBlock = async (i) => {
    if (i === 20) await clock.advanceTo(Z('2026-11-21T22:30')); // the window closes while block 20 is written
  };
  let err: unknown;
  try {
    await src.deliver({ sink: first, resume: null, signal: session.signal, verifier: b.verifier, onValidator: (v) => (first.validator = v) });
  } catch (e) {
    err = e;
  } finally {
    session.end();
    await first.close();
  }
  assert.ok(isOutpostError(err, 'E_WINDOW_CLOSED'), `expected E_WINDOW_CLOSED, got ${String(err)}`);
  assert.equal(session.signal.aborted, true, 'the caller sees an abort, not a failure');
  assert.equal(first.nextBlock, 21, 'stopped right after the block being written');
  assert.equal(server.requests.length, 1);

  // Closed until tomorrow's window; nothing runs meanwhile.
  let reopened = false;
  const waiting = gate.waitOpen(shutdown).then(() => (reopened = true));
  await clock.advanceTo(Z('2026-11-22T21:59'));
  assert.equal(reopened, false);
  await clock.advanceTo(Z('2026-11-22T22:00'));
  await waiting;

  const point = first.resumePoint();
  const second = new FileSlotSink(slot, point);
  session = gate.session(shutdown);
  try {
    await src.deliver({ sink: second, resume: point, signal: session.signal, verifier: b.verifier });
  } finally {
    session.end();
  }
  assert.equal(await second.digest(SIZE), b.imageSha256);
  assert.equal(server.requests.length, 2);
  assert.match(server.requests[1]!.range ?? '', new RegExp(`^bytes=${b.verifier.verifyHeadBytes(point.headBytes).payloads[0]!.dataOffset + 21 * BLOCK}-`));
});
