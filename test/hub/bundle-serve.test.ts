// The hub's bundle file handler under clients that go away mid-response: a node's delta drops the
// request it fetched ahead whenever it stops, so a multi-range response cut at any point must
// still close its file (a handle left to garbage collection is an fd held per cut request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveFile } from '../../hub/bundles/serve.ts';
import { waitFor } from '../support/wait-for.ts';

/** Descriptors of this process open on `path`. */
async function openOn(path: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) n++;
  return n;
}

// A FileHandle closed by the garbage collector warns (DEP0137): it was left open, not closed.
const gcClosed: string[] = [];
process.on('warning', (w) => void ((w as { code?: string }).code === 'DEP0137' && gcClosed.push(w.message)));

test('a multi-range response cut by the client at any point closes its file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-serve-'));
  const path = join(dir, 'b.bundle');
  await writeFile(path, randomBytes(4 << 20));
  const server = createServer((req, res) => void serveFile(path, req, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  // 300 ranges of 8 KiB spread over the file: the response alternates reads and writes
  const ranges = Array.from({ length: 300 }, (_, k) => `${k * 13_000}-${k * 13_000 + 8191}`).join(',');
  try {
    for (let round = 0; round < 40; round++) {
      await new Promise<void>((done) => {
        const s = connect(port, '127.0.0.1', () => {
          s.write(`GET /b HTTP/1.1\r\nhost: x\r\nrange: bytes=${ranges}\r\n\r\n`);
          if (round % 3 === 0) s.destroy(); // gone before the response starts
          else if (round % 3 === 1) setTimeout(() => s.destroy(), round % 4); // as it starts
        });
        let got = 0;
        const cutAt = 1000 + round * 37_000; // or somewhere inside the body, a different place each round
        s.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= cutAt) s.destroy();
        });
        s.on('close', () => done());
        s.on('error', () => {});
      });
    }
    await waitFor('every response to close the bundle file', async () => (await openOn(path)) === 0);
    assert.deepEqual(gcClosed, [], 'closed by the handler, not by the garbage collector');
  } finally {
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  }
});
