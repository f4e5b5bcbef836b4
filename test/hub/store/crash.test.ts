// "Acknowledged only after commit", shown across a real crash: a child process appends reports
// and prints each ackedSeq as soon as appendReports resolves; we SIGKILL it mid-stream and reopen
// the store: everything it printed is there. SQLite always; PostgreSQL when installed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore } from '../../../hub/store/open.ts';
import { POSTGRES_NEEDS, postgresBinDir, startPostgres } from '../../support/postgres.ts';
import { requireTools } from '../../support/require-tool.ts';
import { newId } from './suite-helpers.ts';

const OPEN = resolve(import.meta.dirname, '../../../hub/store/open.ts');

const CHILD = `
const { openStore } = await import(process.env.OPEN);
const s = await openStore({ url: process.env.STORE });
const id = process.env.NODE_ID;
await s.admitNode({ id, publicKey: 'k', deviceId: 'd', agentVersion: '1', compatible: [], autoAccept: true, now: Date.now() });
for (let seq = 1; ; seq++) {
  const r = await s.appendReports(id, [{ v: 1, id: 'r' + seq, seq, at: seq, type: 'inventory', mode: 'full', data: { seq } }], Date.now());
  process.stdout.write('acked ' + r.ackedSeq + '\\n');
}
`;

async function killMidStream(url: string): Promise<void> {
  const id = newId();
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, OPEN, STORE: url, NODE_ID: id }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lastAck = 0;
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((res, rej) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const m of buf.matchAll(/acked (\d+)\n/g)) lastAck = Number(m[1]);
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
      if (lastAck >= 40) {
        child.kill('SIGKILL');
        res();
      }
    });
    child.on('exit', () => (lastAck >= 40 ? res() : rej(new Error(`child exited early: ${err}`))));
  });
  await new Promise((r) => child.once('close', r));
  const s = await openStore({ url });
  try {
    const n = (await s.getNode(id))!;
    assert.ok(n.ackedSeq >= lastAck, `stored ackedSeq ${n.ackedSeq} < last acknowledged ${lastAck}`);
    assert.deepEqual((await s.getInventory(id))!.data, { seq: n.ackedSeq });
  } finally {
    await s.close();
  }
}

test('sqlite: every report acknowledged before a SIGKILL is in the store after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-store-crash-'));
  try {
    await killMidStream(`sqlite:${join(dir, 'hub.db')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (!postgresBinDir()) {
  test('postgres: acknowledged reports survive a SIGKILL', { skip: requireTools(...POSTGRES_NEEDS) || 'install the Debian package postgresql' }, () => {});
} else {
  test('postgres: every report acknowledged before a SIGKILL is in the store after it', async () => {
    const cluster = await startPostgres();
    after(() => cluster.stop());
    await killMidStream(await cluster.createDatabase('crash'));
  });
}
