// UbootEnv against the real fw_printenv / fw_setenv (Debian libubootenv-tool), both directions,
// on plain files and on a loop block device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UbootEnv } from '../../../../agent/platform/bootenv/uboot-env.ts';
import { formatFwEnvConfig, type UbootGeometry } from '../../../../agent/platform/bootenv/fw-env-config.ts';
import { encodeUbootCopy } from '../../../../agent/platform/bootenv/uboot-image.ts';
import { parsePrintenv } from '../../../../agent/platform/bootenv/fw-tool-env.ts';
import { runCommand } from '../../../../agent/platform/exec.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';
import { requireTool } from '../../../support/require-tool.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/bootenv');
const SIZE = 0x1000;
const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);
let dir = '';
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ubootenv-'));
  await writeFile(join(dir, 'default.env'), '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A zeroed 8 KiB file with a config for two copies (or one) and its geometry. */
async function device(redundant = true): Promise<{ file: string; config: string; geometry: UbootGeometry }> {
  const file = join(dir, `env${n++}.bin`);
  await writeFile(file, Buffer.alloc(2 * SIZE));
  const geometry: UbootGeometry = redundant
    ? { size: SIZE, copies: [{ device: file, offset: 0 }, { device: file, offset: SIZE }] }
    : { size: SIZE, copies: [{ device: file, offset: 0 }] };
  const config = `${file}.config`;
  await writeFile(config, formatFwEnvConfig(geometry));
  return { file, config, geometry };
}

async function printenv(config: string): Promise<Record<string, string>> {
  const r = await runCommand('fw_printenv', ['-c', config]);
  assert.equal(r.code, 0, r.stderr);
  return parsePrintenv(r.stdout);
}

async function setenv(config: string, script: string, init = false): Promise<void> {
  const args = ['-c', config, ...(init ? ['-f', join(dir, 'default.env')] : []), '-s', '-'];
  const r = await runCommand('fw_setenv', args, { input: script });
  assert.equal(r.code, 0, r.stderr);
}

/** What a power cut halfway through writing a copy leaves: a torn copy with a bad CRC. */
async function tear(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(Buffer.alloc(SIZE / 2, 0xa5), 0, SIZE / 2, offset + SIZE / 2);
  } finally {
    await fh.close();
  }
}

const flags = async (file: string) => {
  const b = await readFile(file);
  return [b[4], b[SIZE + 4]];
};

test('golden: single-copy env written by fw_setenv reads as its variables', async () => {
  const expected = JSON.parse(await readFile(join(FIX, 'uboot-single.json'), 'utf8'));
  const env = new UbootEnv({ geometry: { size: 0x1000, copies: [{ device: join(FIX, 'uboot-single.bin'), offset: 0x200 }] } });
  assert.deepEqual(await env.read(), expected);
});

test('golden: redundant env from fw_setenv; with the newest copy torn, we and fw_printenv read the older', async () => {
  const g = JSON.parse(await readFile(join(FIX, 'uboot-redundant.json'), 'utf8'));
  const file = join(dir, 'golden-redundant.bin');
  await copyFile(join(FIX, 'uboot-redundant.bin'), file);
  const geometry: UbootGeometry = { size: SIZE, copies: [{ device: file, offset: 0 }, { device: file, offset: SIZE }] };
  const config = `${file}.config`;
  await writeFile(config, formatFwEnvConfig(geometry));
  assert.deepEqual(await flags(file), g.flags);
  assert.deepEqual(await new UbootEnv({ geometry }).read(), g.newest);
  await tear(file, g.newestCopy * SIZE);
  assert.deepEqual(await new UbootEnv({ geometry }).read(), g.older);
  assert.deepEqual(await printenv(config), g.older);
});

test('tool and UbootEnv take turns on one redundant env; we write the inactive copy, then the other', async () => {
  const { file, config, geometry } = await device();
  const env = new UbootEnv({ geometry });
  await setenv(config, 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\n', true); // copy 1, flag 1
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3' });
  await env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '2', BOOT_A_LEFT: null }); // copy 0 flag 2, then copy 1 flag 3
  assert.deepEqual(await flags(file), [2, 3]);
  const both = await readFile(file);
  assert.ok(both.subarray(5, SIZE).equals(both.subarray(SIZE + 5)), 'both copies hold the same variables');
  assert.deepEqual(await printenv(config), { BOOT_ORDER: 'B A', BOOT_B_LEFT: '2' });
  await setenv(config, 'BOOT_B_LEFT=1\n'); // copy 0, flag 4
  await env.update({ x: 'y z', empty: '' }); // copy 1 flag 5, copy 0 flag 6; "" unsets
  assert.deepEqual(await flags(file), [6, 5]);
  const expected = { BOOT_ORDER: 'B A', BOOT_B_LEFT: '1', x: 'y z' };
  assert.deepEqual(await printenv(config), expected);
  assert.deepEqual(await env.read(), expected);
});

test('a power cut during our first write leaves the previous environment, during the second the new one', async () => {
  const { file, config, geometry } = await device();
  const env = new UbootEnv({ geometry, whenInvalid: 'empty' });
  await env.update({ BOOT_ORDER: 'A B' }); // copy 1 flag 1, copy 0 flag 2
  // Cut during the first write of the next update: the inactive copy (1) is torn.
  await tear(file, SIZE);
  assert.deepEqual(await printenv(config), { BOOT_ORDER: 'A B' });
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'A B' });
  // The next write repairs both copies.
  await env.update({ BOOT_A_LEFT: '1' });
  assert.deepEqual((await env.check()).valid, [true, true]);
  // Cut during the second write: the first copy already holds the change and is current.
  const first = (await readFile(file)).subarray(SIZE, 2 * SIZE); // copy 1 was written first
  await writeFile(file, Buffer.concat([encodeUbootCopy({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '1' }, SIZE, true, 3), first]));
  await env.update({ BOOT_ORDER: 'B A' });
  await tear(file, 0); // the copy written second
  assert.deepEqual(await printenv(config), { BOOT_ORDER: 'B A', BOOT_A_LEFT: '1' });
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'B A', BOOT_A_LEFT: '1' });
});

test('regression: losing either copy after a write keeps the change; health and repair find and fix the loss', async () => {
  const { file, config, geometry } = await device();
  const env = new UbootEnv({ geometry, whenInvalid: 'empty' });
  await env.update({ BOOT_ORDER: 'A B' });
  await env.update({ BOOT_ORDER: 'B A' });
  assert.deepEqual(await env.health(), { copies: 2, damaged: [], current: 0 });
  assert.deepEqual(await env.repair(), [], 'nothing to repair');
  for (const lost of [0, SIZE]) {
    await tear(file, lost);
    assert.deepEqual(await printenv(config), { BOOT_ORDER: 'B A' }, 'fw_printenv still reads the change');
    assert.deepEqual(await env.read(), { BOOT_ORDER: 'B A' });
    const damaged = lost === 0 ? 0 : 1;
    assert.deepEqual((await env.health()).damaged, [damaged]);
    assert.deepEqual(await env.repair(), [damaged]);
    assert.deepEqual((await env.health()).damaged, []);
  }
  const blank = await device();
  assert.deepEqual(await new UbootEnv({ geometry: blank.geometry }).repair(), [], 'no valid copy: no guess');
});

test('flag 255 → 0 wraps the same way for fw_printenv and for us', async () => {
  const { file, config, geometry } = await device();
  const img = Buffer.concat([encodeUbootCopy({ v: 'old' }, SIZE, true, 255), encodeUbootCopy({ v: 'new' }, SIZE, true, 0)]);
  await writeFile(file, img);
  assert.deepEqual(await printenv(config), { v: 'new' });
  const env = new UbootEnv({ geometry });
  assert.deepEqual(await env.read(), { v: 'new' });
  await env.update({ v: 'newer' }); // copy 0 gets flag 1, then copy 1 flag 2
  assert.deepEqual(await flags(file), [1, 2]);
  assert.deepEqual(await printenv(config), { v: 'newer' });
  await writeFile(file, Buffer.concat([encodeUbootCopy({ v: 'a' }, SIZE, true, 254), encodeUbootCopy({ v: 'b' }, SIZE, true, 253)]));
  await env.update({ v: 'c' }); // copy 1 gets 255, then copy 0 gets 0
  assert.deepEqual(await flags(file), [0, 255]);
  assert.deepEqual(await printenv(config), { v: 'c' });
});

test('single copy: we write, the tool reads; the tool writes, we read', async () => {
  const { config, geometry } = await device(false);
  const env = new UbootEnv({ geometry, whenInvalid: 'empty' });
  await env.update({ bootcmd: 'run a; run b', BOOT_ORDER: 'A B' });
  assert.deepEqual(await printenv(config), { BOOT_ORDER: 'A B', bootcmd: 'run a; run b' });
  await setenv(config, 'BOOT_ORDER=B A\n');
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'B A', bootcmd: 'run a; run b' });
});

test('no valid copy is E_BOOTENV_CORRUPT unless provisioning asked for an empty start', async () => {
  const { geometry } = await device();
  await assert.rejects(new UbootEnv({ geometry }).read(), code('E_BOOTENV_CORRUPT'));
  await assert.rejects(new UbootEnv({ geometry }).update({ a: '1' }), code('E_BOOTENV_CORRUPT'));
  assert.deepEqual(await new UbootEnv({ geometry, whenInvalid: 'empty' }).read(), {});
});

test('a device shorter than the geometry is E_BOOTENV_SIZE; overlapping copies are refused', async () => {
  const { file } = await device();
  await assert.rejects(
    new UbootEnv({ geometry: { size: SIZE, copies: [{ device: file, offset: SIZE * 2 }] } }).read(),
    code('E_BOOTENV_SIZE'),
  );
  assert.throws(() => new UbootEnv({ geometry: `${file} 0 0x1000\n${file} 0x800 0x1000\n` }), code('E_BOOTENV_CONFIG'));
});

test('works on a block device (loop), read back by fw_printenv', { skip: requireTool('losetup', 'mount') }, async () => {
  const backing = join(dir, 'loop.img');
  await writeFile(backing, Buffer.alloc(1 << 20));
  const r = await runCommand('losetup', ['--find', '--show', backing]);
  assert.equal(r.code, 0, r.stderr);
  const loop = r.stdout.trim();
  try {
    const geometry: UbootGeometry = { size: SIZE, copies: [{ device: loop, offset: 0x10000 }, { device: loop, offset: 0x20000 }] };
    const config = join(dir, 'loop.config');
    await writeFile(config, formatFwEnvConfig(geometry));
    const env = new UbootEnv({ geometry, whenInvalid: 'empty' });
    await env.update({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3' });
    await env.update({ BOOT_A_LEFT: '2' });
    assert.deepEqual(await printenv(config), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '2' });
    await setenv(config, 'BOOT_B_LEFT=0\n');
    assert.deepEqual(await new UbootEnv({ geometry }).read(), { BOOT_ORDER: 'A B', BOOT_A_LEFT: '2', BOOT_B_LEFT: '0' });
  } finally {
    await runCommand('losetup', ['-d', loop]);
  }
});
