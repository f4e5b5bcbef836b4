// The pull adapter over a real LocationService fed by a real (loopback) gpsd-speaking server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { LocationService } from '../../../agent/location/service.ts';
import { GpsdClient } from '../../../agent/location/gpsd-client.ts';
import { PendingLocationReport, toHubFix } from '../../../agent/location/pending-report.ts';
import { silentLogger } from '../../../agent/log/logger.ts';

const SITE = { id: 's1', name: null, address: null, latitude: 52.52, longitude: 13.405, altitudeM: null, accuracyM: 100, surveyedAt: null, rack: null, row: null, unit: null, radiusM: 100 };

function tpv(s: number, north: number): string {
  return JSON.stringify({ class: 'TPV', mode: 3, time: new Date(Date.UTC(2027, 0, 1) + s * 1000).toISOString(), lat: 52.52 + north / 111_320, lon: 13.405, eph: 5 }) + '\n';
}

test('pull adapter: one pending report per meaningful change, moved shows in the hub fix', async () => {
  const sockets: Socket[] = [];
  let watched!: () => void;
  const gotWatch = new Promise<void>((r) => (watched = r));
  const server = createServer((s) => {
    sockets.push(s);
    s.write('{"class":"VERSION","release":"test"}\n');
    s.on('data', (d) => d.toString().includes('?WATCH=') && watched());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const gpsd = new GpsdClient({ host: '127.0.0.1', port, logger: silentLogger() });
  const service = new LocationService({
    site: SITE, gpsd, movement: { hysteresisM: 10, maxAccuracyM: 50, fixes: 3, seconds: 2 },
    limits: { minDistanceM: 50, minAccuracyChangeM: 25, heartbeatMs: 3_600_000 }, fixMaxAgeMs: 30_000,
    clock: { now: () => Date.UTC(2027, 0, 1, 0, 5) }, store: null, logger: silentLogger(),
  });
  const pull = new PendingLocationReport(service);
  const ac = new AbortController();
  try {
    await service.start(ac.signal);
    const first = pull.take();
    assert.equal(first?.source, 'survey');
    assert.equal(pull.take(), null, 'nothing new');
    await gotWatch;

    const received = new Promise<void>((r) => service.onEvent((e) => e.type === 'location.moved' && r()));
    for (let s = 0; s < 3; s++) sockets[0]!.write(tpv(s, 0));
    for (let s = 3; s < 8; s++) sockets[0]!.write(tpv(s, 500));
    await received;
    const r = pull.take();
    assert.equal(r?.zone, 'outside');
    const fix = toHubFix(r!);
    assert.equal(fix?.moved, true);
    assert.equal(fix?.source, 'gnss');
    assert.equal(fix?.accuracyM, 5);
    assert.ok(Math.abs(fix!.lat - (52.52 + 500 / 111_320)) < 1e-6);
  } finally {
    ac.abort();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
