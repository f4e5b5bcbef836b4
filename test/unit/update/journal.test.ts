import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { JournalStore, validateJournal, type Journal } from '../../../agent/update/journal.ts';

const dir = await mkdtemp(join(tmpdir(), 'outpost-journal-'));
after(() => rm(dir, { recursive: true, force: true }));

const sample: Journal = {
  v: 1,
  id: 'd-1',
  state: 'writing',
  visits: { preparing: 1, writing: 2 },
  origin: '/media/usb/os.bundle',
  target: 'B',
  previous: 'A',
  bundle: { version: '1.2', release: 12, payload: { name: 'rootfs.img', size: 100, sha256: 'a'.repeat(64), blockSize: 65536, blocks: 1 } },
  progress: { nextBlock: 0, validator: 'file:100:1' },
  error: null,
  startedAt: '2026-11-21T14:00:00.000Z',
  updatedAt: '2026-11-21T14:00:01.000Z',
};

test('a journal round-trips through an atomic write', async () => {
  const s = new JournalStore(dir);
  await s.write(sample);
  const r = await s.read();
  assert.equal(r.kind, 'ok');
  assert.deepEqual(r.kind === 'ok' && r.value, sample);
});

test('unknown states, versions and malformed fields are rejected', () => {
  const bad: unknown[] = [
    { ...sample, v: 2 },
    { ...sample, state: 'installing' },
    { ...sample, visits: { writing: -1 } },
    { ...sample, visits: { nope: 1 } },
    { ...sample, target: '' },
    { ...sample, progress: { nextBlock: 1.5, validator: null } },
    { ...sample, bundle: { ...sample.bundle, payload: { ...sample.bundle!.payload, sha256: 'xyz' } } },
    { ...sample, error: { code: 1 } },
    null,
  ];
  for (const b of bad) assert.throws(() => validateJournal(b), Error, JSON.stringify(b));
});

test('a corrupt journal is set aside, not trusted', async () => {
  const s = new JournalStore(dir);
  await writeFile(s.path, '{"v":1,"state":"writ');
  const r = await s.read(() => 42);
  assert.equal(r.kind, 'corrupt');
  assert.equal((await s.read()).kind, 'missing');
  assert.ok((await readdir(dir)).includes('journal.json.corrupt-42'));
});

test('healthyBoot is optional (journals of older agents), a string when present', () => {
  assert.equal(validateJournal({ ...sample }).healthyBoot, undefined);
  assert.equal(validateJournal({ ...sample, state: 'committing', healthyBoot: 'b1d3' }).healthyBoot, 'b1d3');
  assert.equal(validateJournal({ ...sample, healthyBoot: null }).healthyBoot, null);
  assert.throws(() => validateJournal({ ...sample, healthyBoot: 42 }), /healthyBoot/);
  assert.equal(validateJournal({ ...sample, state: 'revert_pending' }).state, 'revert_pending');
});
