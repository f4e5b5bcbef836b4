import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimeFloor, TIME_FLOOR_FILE } from '../../../agent/time/floor.ts';
import { BUILD_TIME_FLOOR_MS, MAX_HUB_LEAD_MS } from '../../../agent/time/limits.ts';
import { isOutpostError } from '../../../shared/errors.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'outpost-floor-'));
  dirs.push(d);
  return d;
}

const T2027 = Date.UTC(2027, 0, 15, 12);
const EPOCH_BOOT = 42_000; // a node without RTC: 1970-01-01T00:00:42Z
/** Built (or last given a signed bundle) an hour before T2027: hub time T2027 is within the margin. */
const RECENT = { builtInFloorMs: T2027 - 3_600_000, synchronised: () => false };

test('a fresh node starts at the build floor', async () => {
  const f = await TimeFloor.open(await scratch(), { now: () => EPOCH_BOOT, monotonic: () => 0 });
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS);
  const t = f.trustedNow();
  assert.equal(t.now, BUILD_TIME_FLOOR_MS);
  assert.equal(t.clockBehind, true);
  assert.equal(t.source, 'build');
});

test('the floor rises, never falls, and survives a restart', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0, ...RECENT });
  assert.equal(await f.raiseFromHub(new Date(T2027)), true);
  assert.equal(f.floorMs, T2027);
  assert.equal(await f.raiseFromBundle('2026-12-01T00:00:00Z'), false, 'an older bundle must not lower it');
  assert.equal(f.floorMs, T2027);
  assert.equal(await f.raise(T2027, 'hub'), false, 'equal is not a rise');
  assert.equal(await f.raiseFromBundle(T2027 + 1000), true);

  const onDisk = JSON.parse(await readFile(join(dir, TIME_FLOOR_FILE), 'utf8'));
  assert.deepEqual(onDisk, { v: 1, floorMs: T2027 + 1000, floor: new Date(T2027 + 1000).toISOString(), source: 'bundle', signedMs: T2027 + 1000 });

  const reopened = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0, ...RECENT });
  assert.equal(reopened.floorMs, T2027 + 1000);
  assert.equal(reopened.trustedNow().source, 'bundle');
});

test('concurrent raises keep the highest value on disk', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  const values = [3, 9, 1, 7, 5].map((d) => T2027 + d * 1000);
  await Promise.all(values.map((v) => f.raise(v, 'hub')));
  assert.equal(f.floorMs, T2027 + 9000);
  const onDisk = JSON.parse(await readFile(join(dir, TIME_FLOOR_FILE), 'utf8'));
  assert.equal(onDisk.floorMs, T2027 + 9000);
});

test('settled() waits for raises still being written, failed ones included (a shutdown awaits it)', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  void f.raise(T2027, 'bundle');
  f.raise(Number.NaN, 'bundle').catch(() => {});
  await f.settled();
  assert.equal(f.floorMs, T2027);
  assert.equal(JSON.parse(await readFile(join(dir, TIME_FLOOR_FILE), 'utf8')).floorMs, T2027);
});

test('implausible times are refused with E_TIME_FLOOR_INVALID and change nothing', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  for (const bad of [Number.NaN, Infinity, 0, Date.UTC(2300, 0, 1)]) {
    await assert.rejects(f.raise(bad, 'hub'), (e) => isOutpostError(e, 'E_TIME_FLOOR_INVALID'));
  }
  await assert.rejects(f.raiseFromBundle('not a date'), (e) => isOutpostError(e, 'E_TIME_FLOOR_INVALID'));
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS);
  assert.deepEqual(await readdir(dir), []);
});

test('while the clock is behind, trusted time advances with the monotonic clock', async () => {
  let mono = 1000;
  let wall = EPOCH_BOOT;
  const f = await TimeFloor.open(await scratch(), { now: () => wall, monotonic: () => mono, ...RECENT });
  await f.raiseFromHub(T2027);
  mono += 90_000;
  wall += 90_000;
  const t = f.trustedNow();
  assert.equal(t.now, T2027 + 90_000);
  assert.equal(t.clockBehind, true);
  assert.equal(t.behindMs, T2027 + 90_000 - wall);
  // Once NTP fixes the clock, the system clock wins again.
  wall = T2027 + 10 * 60_000;
  const sane = f.trustedNow();
  assert.equal(sane.now, wall);
  assert.equal(sane.clockBehind, false);
});

test('a clock slightly behind (within tolerance) is not flagged and is used as it is', async () => {
  const f = await TimeFloor.open(await scratch(), { now: () => T2027 - 5_000, monotonic: () => 0, toleranceMs: 60_000, ...RECENT });
  await f.raiseFromHub(T2027);
  const t = f.trustedNow();
  assert.equal(t.clockBehind, false);
  assert.equal(t.now, T2027 - 5_000, 'within the tolerance the system clock is used');
});

test('regression: a synchronised clock wins over a floor far ahead of it; only an unsynchronised one gives way', async () => {
  let synced = true;
  const now = Date.UTC(2027, 0, 15, 2); // 02:00, inside a night window
  const f = await TimeFloor.open(await scratch(), { now: () => now, monotonic: () => 0, builtInFloorMs: now - 3_600_000, synchronised: () => synced });
  await f.raise(now + 12 * 3_600_000, 'hub'); // a floor 12 h ahead, as a bad hub once left it
  let t = f.trustedNow();
  assert.equal(t.clockBehind, true);
  assert.equal(t.synchronised, true);
  assert.equal(t.usingFloor, false);
  assert.equal(t.now, now, 'NTP time, not the floor: the night window stays at night');
  synced = false;
  t = f.trustedNow();
  assert.equal(t.usingFloor, true);
  assert.equal(t.now, now + 12 * 3_600_000);
});

test('regression: hub time lifts the floor at most MAX_HUB_LEAD_MS past the highest signed time; a site can reset it', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0, synchronised: () => false });
  await f.raiseFromHub(BUILD_TIME_FLOOR_MS + 365 * 86_400_000);
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS + MAX_HUB_LEAD_MS);
  assert.ok(MAX_HUB_LEAD_MS <= 86_400_000, 'a small margin');
  const created = BUILD_TIME_FLOOR_MS + 10 * 86_400_000;
  await f.raiseFromBundle(new Date(created).toISOString());
  await f.raiseFromHub(created + 30 * 86_400_000);
  assert.equal(f.floorMs, created + MAX_HUB_LEAD_MS);
  assert.equal(await f.reset('signed'), created);
  assert.equal(f.floorMs, created);
  assert.equal((await TimeFloor.open(dir, { now: () => EPOCH_BOOT })).floorMs, created, 'kept on disk');
  assert.equal(await f.reset('build'), BUILD_TIME_FLOOR_MS);
  assert.equal(f.signedMs, BUILD_TIME_FLOOR_MS);
  assert.equal(f.trustedNow().source, 'build');
});

test('a corrupt floor file is set aside and the build floor applies', async () => {
  const dir = await scratch();
  await writeFile(join(dir, TIME_FLOOR_FILE), '{"v":1,"floorMs":"soon"');
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS);
  assert.ok((await readdir(dir)).some((n) => n.startsWith(`${TIME_FLOOR_FILE}.corrupt-`)));
});

test('from both sources in any order, the floor only rises (memory and disk), and the highest wins', async () => {
  const dir = await scratch();
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0, maxHubLeadMs: 365 * 86_400_000 });
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let highest = f.floorMs;
  for (let i = 0; i < 60; i++) {
    const t = BUILD_TIME_FLOOR_MS + Math.floor(rnd() * 200 * 86_400_000);
    const before = f.floorMs;
    const rose = rnd() < 0.5 ? await f.raiseFromBundle(new Date(t).toISOString()) : await f.raiseFromHub(t);
    assert.ok(f.floorMs >= before, 'never falls');
    assert.equal(rose, t > before);
    highest = Math.max(highest, t);
    assert.equal(JSON.parse(await readFile(join(dir, TIME_FLOOR_FILE), 'utf8')).floorMs ?? BUILD_TIME_FLOOR_MS, f.floorMs);
  }
  assert.equal(f.floorMs, highest);
  assert.equal((await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0, maxHubLeadMs: 365 * 86_400_000 })).floorMs, highest);
});

test('hub time far beyond the signed floor lifts it only to the bound; a bundle moves the bound', async () => {
  const dir = await scratch();
  const YEAR = MAX_HUB_LEAD_MS;
  const f = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  assert.equal(f.signedMs, BUILD_TIME_FLOOR_MS);
  // A lying (or broken) hub says 2150: the node believes at most build time + the margin.
  assert.equal(await f.raiseFromHub(Date.UTC(2150, 0, 1)), true);
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS + YEAR);
  assert.equal(f.trustedNow().source, 'hub');
  // Hub time does not move the bound itself …
  await f.raiseFromHub(Date.UTC(2150, 0, 1));
  assert.equal(f.floorMs, BUILD_TIME_FLOOR_MS + YEAR);
  // … a verified bundle does, even one older than the floor.
  const created = BUILD_TIME_FLOOR_MS + 12 * 3_600_000;
  assert.equal(await f.raiseFromBundle(new Date(created).toISOString()), false);
  assert.equal(f.signedMs, created);
  await f.raiseFromHub(Date.UTC(2150, 0, 1));
  assert.equal(f.floorMs, created + YEAR);
  const reopened = await TimeFloor.open(dir, { now: () => EPOCH_BOOT, monotonic: () => 0 });
  assert.equal(reopened.signedMs, created, 'the bound survives a restart');
});

test('hub time that the system clock agrees with counts in full', async () => {
  const dir = await scratch();
  const now = Date.UTC(2029, 5, 1); // more than a year past the build floor
  const f = await TimeFloor.open(dir, { now: () => now, monotonic: () => 0 });
  assert.equal(await f.raiseFromHub(now - 2000), true);
  assert.equal(f.floorMs, now - 2000);
  assert.equal(f.trustedNow().clockBehind, false);
});
