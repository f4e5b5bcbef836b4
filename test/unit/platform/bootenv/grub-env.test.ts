// GrubEnv against the real grub-editenv (Debian grub-common), both directions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrubEnv, createGrubEnvFile } from '../../../../agent/platform/bootenv/grub-env.ts';
import { runCommand } from '../../../../agent/platform/exec.ts';
import { isOutpostError, type ErrorCode } from '../../../../shared/errors.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/bootenv');
const code = (c: ErrorCode) => (e: unknown) => isOutpostError(e, c);
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'grubenv-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function editenv(...args: string[]): Promise<string> {
  const r = await runCommand('grub-editenv', args);
  assert.equal(r.code, 0, `grub-editenv ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('golden: a block written by grub-editenv reads as the variables it was given', async () => {
  const expected = JSON.parse(await readFile(join(FIX, 'grubenv.json'), 'utf8'));
  assert.deepEqual(await new GrubEnv({ path: join(FIX, 'grubenv') }).read(), expected);
});

test('golden: the same edits through GrubEnv give grub-editenv\'s bytes exactly', async () => {
  const path = join(dir, 'same-edits');
  await editenv(path, 'create');
  const env = new GrubEnv({ path });
  const first = JSON.parse(await readFile(join(FIX, 'grubenv.json'), 'utf8'));
  await env.update({ ...first, BOOT_A_LEFT: '3', doomed: '1' }); // the script's first `set`
  await env.update({ BOOT_A_LEFT: '2' });
  await env.update({ doomed: null });
  assert.deepEqual(await readFile(path), await readFile(join(FIX, 'grubenv')));
});

test('a block GrubEnv writes is listed by grub-editenv and editable by it', async () => {
  const path = join(dir, 'ours');
  await createGrubEnvFile(path, { BOOT_ORDER: 'B A' });
  const env = new GrubEnv({ path });
  await env.update({ BOOT_B_LEFT: '3', odd: 'back\\slash\nnext', gone: 'x' });
  await env.update({ gone: null, BOOT_ORDER: 'A B' });
  assert.equal(await editenv(path, 'list'), 'BOOT_ORDER=A B\nBOOT_B_LEFT=3\nodd=back\\slash\nnext\n');
  await editenv(path, 'set', 'BOOT_B_LEFT=2');
  assert.deepEqual(await env.read(), { BOOT_ORDER: 'A B', BOOT_B_LEFT: '2', odd: 'back\\slash\nnext' });
});

test('updates rewrite in place: same inode, still 1024 bytes', async () => {
  const path = join(dir, 'inplace');
  await editenv(path, 'create');
  const ino = (await stat(path)).ino;
  const env = new GrubEnv({ path });
  for (let i = 0; i < 5; i++) await env.update({ BOOT_A_LEFT: String(i), [`v${i}`]: 'x'.repeat(i * 10) });
  const st = await stat(path);
  assert.equal(st.ino, ino);
  assert.equal(st.size, 1024);
  assert.equal((await env.read()).BOOT_A_LEFT, '4');
});

test('an update that does not fit fails with E_BOOTENV_FULL and leaves the block alone', async () => {
  const path = join(dir, 'full');
  await createGrubEnvFile(path, { keep: '1' });
  const before = await readFile(path);
  await assert.rejects(new GrubEnv({ path }).update({ big: 'z'.repeat(2000) }), code('E_BOOTENV_FULL'));
  assert.deepEqual(await readFile(path), before);
});

test('missing, truncated, foreign and existing files are reported with their codes', async () => {
  await assert.rejects(new GrubEnv({ path: join(dir, 'nope') }).read(), code('E_BOOTENV_MISSING'));
  const short = join(dir, 'short');
  await createGrubEnvFile(short);
  await truncate(short, 1000);
  await assert.rejects(new GrubEnv({ path: short }).read(), code('E_BOOTENV_SIZE'));
  const foreign = join(dir, 'foreign');
  await writeFile(foreign, Buffer.alloc(1024, 0));
  await assert.rejects(new GrubEnv({ path: foreign }).update({ a: '1' }), code('E_BOOTENV_HEADER'));
  await assert.rejects(createGrubEnvFile(foreign), code('E_BOOTENV_EXISTS'));
});
