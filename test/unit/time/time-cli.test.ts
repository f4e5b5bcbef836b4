// `outpost time`: shows the sources and lets a site reset a floor a hub lifted too far.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../agent/main.ts';
import { TimeFloor } from '../../../agent/time/floor.ts';
import { BUILD_TIME_FLOOR_MS, MAX_HUB_LEAD_MS } from '../../../agent/time/limits.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  const code = await main(['time', ...args], { out: w((s) => (out += s)), err: w((s) => (err += s)), isTTY: false });
  return { code, out, err };
}

test('outpost time shows the sources; --reset-floor signed drops what a hub added', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-time-cli-'));
  dirs.push(dir);
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ core: { root: dir, stateDir: '/state' } }));
  const floor = await TimeFloor.open(join(dir, 'state'));
  await floor.raiseFromHub(Date.UTC(2150, 0, 1)); // a hub with a wild clock
  const shown = await cli('--config', config, '--json');
  assert.equal(shown.code, 0, shown.err);
  const j = JSON.parse(shown.out);
  assert.equal(j.source, 'hub');
  assert.equal(j.floorMs, BUILD_TIME_FLOOR_MS + MAX_HUB_LEAD_MS);
  assert.equal(j.signedMs, BUILD_TIME_FLOOR_MS);
  assert.equal(typeof j.synchronised, 'boolean');
  const human = await cli('--config', config);
  assert.match(human.out, /system clock: .*\ntime floor: .*from hub.*\nsigned time: .*\nusing: /);
  const reset = await cli('--config', config, '--reset-floor', 'signed');
  assert.equal(reset.code, 0, reset.err);
  assert.match(reset.out, /time floor reset from .* to /);
  assert.equal((await TimeFloor.open(join(dir, 'state'))).floorMs, BUILD_TIME_FLOOR_MS);
  const bad = await cli('--config', config, '--reset-floor', 'yesterday');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^E_USAGE/);
});
