// FwToolEnv driving the real fw_printenv / fw_setenv with a private fw_env.config.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FwToolEnv } from '../../../../agent/platform/bootenv/fw-tool-env.ts';
import { UbootEnv } from '../../../../agent/platform/bootenv/uboot-env.ts';
import { openBootEnv } from '../../../../agent/platform/bootenv/open.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';

const SIZE = 0x1000;
const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);
let dir = '';
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fwtool-'));
  await writeFile(join(dir, 'default.env'), '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function blank(): Promise<{ file: string; config: string }> {
  const file = join(dir, `env${n++}.bin`);
  await writeFile(file, Buffer.alloc(2 * SIZE));
  const config = `${file}.config`;
  await writeFile(config, `${file} 0x0 0x1000\n${file} 0x1000 0x1000\n`);
  return { file, config };
}

test('one script sets, changes and deletes; the result is what fw_printenv and UbootEnv read', async () => {
  const { config } = await blank();
  const env = new FwToolEnv({ configPath: config, defaultEnvPath: join(dir, 'default.env') });
  await env.update({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', spaced: 'x  y=z' });
  await env.update({ BOOT_A_LEFT: '2', BOOT_B_LEFT: null, spaced: '' });
  const expected = { BOOT_ORDER: 'A B', BOOT_A_LEFT: '2' };
  assert.deepEqual(await env.read(), expected);
  assert.deepEqual(await (await openBootEnv({ kind: 'uboot', configPath: config })).read(), expected);
});

test('names and values a script line cannot carry are refused before anything runs', async () => {
  const { config } = await blank();
  const env = new FwToolEnv({ configPath: config, defaultEnvPath: join(dir, 'default.env') });
  await assert.rejects(env.update({ ok: '1', multi: 'a\nb' }), code('E_BOOTENV_VALUE'));
  await assert.rejects(env.update({ 'has space': '1' }), code('E_BOOTENV_NAME'));
  await assert.rejects(env.update({ '#comment': '1' }), code('E_BOOTENV_NAME'));
  await assert.rejects(env.update({ long: 'x'.repeat(3000) }), code('E_BOOTENV_VALUE'));
  await assert.rejects(env.read(), code('E_BOOTENV_CORRUPT'), 'still blank: nothing was written');
});

test('a blank environment is E_BOOTENV_CORRUPT without a default file', async () => {
  const { config } = await blank();
  const env = new FwToolEnv({ configPath: config });
  await assert.rejects(env.read(), code('E_BOOTENV_CORRUPT'));
  await assert.rejects(env.update({ a: '1' }), code('E_BOOTENV_CORRUPT'));
});

test('a tool that exits 0 but writes nothing is caught by the read-back (E_BOOTENV_VERIFY)', async () => {
  const { file, config } = await blank();
  await new UbootEnv({ geometry: `${file} 0 1000\n${file} 0x1000 1000\n`, whenInvalid: 'empty' }).update({ a: '1' });
  const before = await readFile(file);
  // `true` behaves like fw_setenv given `name value` lines: silent success, nothing stored.
  const env = new FwToolEnv({ configPath: config, fwSetenv: 'true' });
  await assert.rejects(env.update({ a: '2' }), code('E_BOOTENV_VERIFY'));
  assert.deepEqual(await readFile(file), before);
});

test('a failing or missing tool is E_BOOTENV_TOOL', async () => {
  const { config } = await blank();
  await assert.rejects(new FwToolEnv({ configPath: config, fwPrintenv: 'false' }).read(), code('E_BOOTENV_TOOL'));
  await assert.rejects(new FwToolEnv({ configPath: config, fwPrintenv: join(dir, 'no-such-tool') }).read(), code('E_BOOTENV_TOOL'));
});

test('regression: a write reaches both copies, so a torn newest copy keeps it; health finds the damage and repair fixes it', async () => {
  const { file, config } = await blank();
  const env = new FwToolEnv({ configPath: config, defaultEnvPath: join(dir, 'default.env') });
  await env.update({ BOOT_ORDER: 'A', OUTPOST_A_GOOD: '1' });
  await env.update({ BOOT_ORDER: 'B A', OUTPOST_B_GOOD: '1' }); // the commit
  assert.deepEqual((await env.health()).damaged, []);
  const img = await readFile(file);
  const newest = img[4]! > img[SIZE + 4]! ? 0 : 1;
  const fh = await open(file, 'r+');
  await fh.write(Buffer.alloc(64, 0xa5), 0, 64, newest * SIZE + 100);
  await fh.close();
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'B A', OUTPOST_A_GOOD: '1', OUTPOST_B_GOOD: '1' }, 'the commit survives');
  assert.deepEqual(await env.health(), { copies: 2, damaged: [newest], current: 1 - newest });
  assert.deepEqual(await env.repair(), [newest]);
  assert.deepEqual((await env.health()).damaged, []);
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'B A', OUTPOST_A_GOOD: '1', OUTPOST_B_GOOD: '1' });
  assert.deepEqual(await env.repair(), [], 'nothing left to repair');
});
